package dev.sluice.server;

import dev.sluice.config.ProxyConfig;
import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running Sluice's periodic sweeps (PgBouncer's janitor): every second the pools' upkeep and the
 * log throttle's summaries; every 100 ms the cache's tending and the clients' timeouts, each at its
 * own pace; every minute the stats line. Each sweep runs on a worker loop and touches a client only
 * on that client's own loop.
 */
final class Janitor {
  // The server's logger: the stats line has always been the server's.
  private static final Logger log = LoggerFactory.getLogger(SluiceServer.class);

  /**
   * A fill whose session never ended it (it should always end: by the answer, the session's end or
   * its backend's) lets its waiters go to the backend themselves after this long.
   */
  private static final long STUCK_FILL_NANOS = 30_000_000_000L;

  private final ProxyContext ctx;
  private long lastTimeoutSweep;
  private long lastCacheSweep;
  private volatile String lastStats = "";

  Janitor(ProxyContext ctx) {
    this.ctx = ctx;
  }

  /** Schedules the sweeps on {@code workers}; they stop with the loops. */
  void start(EventLoopGroup workers) {
    workers
        .next()
        .scheduleWithFixedDelay(
            () -> {
              ctx.pools().all().forEach(p -> p.pool().maintain());
              ctx.logThrottle().flush();
            },
            1,
            1,
            TimeUnit.SECONDS);
    workers.next().scheduleWithFixedDelay(this::logStats, 60, 60, TimeUnit.SECONDS);
    workers.next().scheduleWithFixedDelay(this::checkTimeouts, 100, 100, TimeUnit.MILLISECONDS);
  }

  /** Once a second: fills stuck past their limit end, and catalogs are refreshed when due. */
  private void tendCache() {
    if (ctx.cache() == null) {
      return;
    }
    long now = System.nanoTime();
    if (now - lastCacheSweep < 1_000_000_000L) {
      return;
    }
    lastCacheSweep = now;
    ctx.cache().expireFills(STUCK_FILL_NANOS);
    ctx.cacheCatalogs().refreshAll();
  }

  /**
   * {@code --query-timeout} and {@code --idle-transaction-timeout}: each client is looked at on its
   * own event loop, one task per loop, at a quarter of the shorter limit (at least every 100 ms, at
   * most every second). Nothing runs while both are off.
   */
  private void checkTimeouts() {
    tendCache();
    ProxyConfig c = ctx.config();
    long query = c.queryTimeout().toNanos();
    long idle = c.idleTransactionTimeout().toNanos();
    if (query == 0 && idle == 0) {
      return;
    }
    long shortest = query == 0 ? idle : idle == 0 ? query : Math.min(query, idle);
    long every = Math.min(1_000_000_000L, Math.max(100_000_000L, shortest / 4));
    long now = System.nanoTime();
    if (now - lastTimeoutSweep < every) {
      return;
    }
    lastTimeoutSweep = now;
    Map<EventLoop, List<ClientConnection>> byLoop = new HashMap<>();
    for (Channel ch : ctx.clientChannels()) {
      ClientConnection conn = ch.pipeline().get(ClientConnection.class);
      if (conn != null) {
        byLoop.computeIfAbsent(ch.eventLoop(), l -> new ArrayList<>()).add(conn);
      }
    }
    byLoop.forEach(
        (loop, conns) ->
            loop.execute(
                () -> {
                  long t = System.nanoTime();
                  conns.forEach(conn -> conn.checkTimeouts(t, query, idle));
                }));
  }

  /** Every minute, like PgBouncer's stats line: clients, each pool, the statement counters. */
  private void logStats() {
    String line = statsLine();
    if (!line.equals(lastStats)) {
      lastStats = line;
      log.info("stats: {}", line);
    }
  }

  /** Clients, each pool's counts and prepared statements, and the counters since start. */
  String statsLine() {
    StringBuilder sb =
        new StringBuilder("clients=")
            .append(ctx.clientCount())
            .append(" (logging in=")
            .append(ctx.pendingLogins().size())
            .append(')');
    for (ServerPool p : ctx.pools().all()) {
      int statements = 0;
      for (ServerConnection s : p.pool().openConnections()) {
        statements += s.session().statements().size();
      }
      sb.append(", pool ")
          .append(p.key())
          .append(" [")
          .append(p.pool().stats())
          .append(" statements=")
          .append(statements)
          .append(']');
    }
    return sb.append(", ")
        .append(ctx.stats().summary())
        .append(", connect attempts=")
        .append(ctx.connectGuard().attempts())
        .append(", circuit ")
        .append(ctx.connectGuard().state())
        .toString();
  }
}
