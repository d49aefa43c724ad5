package dev.sluice.server;

import dev.sluice.config.ConfigReload;
import dev.sluice.config.ProxyConfig;
import dev.sluice.pool.PoolStats;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What an operator can make a running Sluice do, shared by the admin port's POST endpoints and the
 * console: PAUSE, RESUME, RECONNECT, RELOAD and SHUTDOWN, with PgBouncer's meanings. Each returns a
 * small report (a map, for JSON and for the console's table) and logs one line naming who asked.
 */
final class AdminActions {
  private static final Logger log = LoggerFactory.getLogger(AdminActions.class);

  /** How long PAUSE waits for backends in use to come back before it answers anyway. */
  static final Duration PAUSE_WAIT = Duration.ofSeconds(30);

  private final ProxyContext ctx;

  AdminActions(ProxyContext ctx) {
    this.ctx = ctx;
  }

  /**
   * Holds new transactions and closes every backend as soon as it is not in use. Completes when no
   * backend is in use, or after {@code wait} with {@code quiet: false}; the pause stays in effect
   * either way until {@link #resume}.
   */
  CompletableFuture<Map<String, Object>> pause(Duration wait, String who) {
    log.info("PAUSE by {}: holding new transactions, closing backends as they are released", who);
    List<CompletableFuture<Void>> quiet = new ArrayList<>();
    ctx.paused(true);
    ctx.pools().forEachExisting(p -> quiet.add(p.pool().pause()));
    return CompletableFuture.allOf(quiet.toArray(CompletableFuture[]::new))
        .completeOnTimeout(null, wait.toMillis(), TimeUnit.MILLISECONDS)
        .handle(
            (ok, failed) -> {
              Map<String, Object> r = new LinkedHashMap<>();
              int inUse = inUse();
              r.put("paused", ctx.paused());
              r.put("quiet", ctx.paused() && inUse == 0);
              r.put("backendsInUse", inUse);
              if (inUse == 0 && ctx.paused()) {
                log.info("PAUSE complete: no backend in use");
              }
              return r;
            });
  }

  Map<String, Object> resume(String who) {
    boolean was = ctx.paused();
    ctx.paused(false);
    ctx.pools().forEachExisting(p -> p.pool().resume());
    log.info("RESUME by {}{}", who, was ? "" : " (was not paused)");
    return Map.of("paused", false, "wasPaused", was);
  }

  /** Every backend open now is replaced: idle ones at once, those in use when released. */
  Map<String, Object> reconnect(String who) {
    int n = 0;
    for (ServerPool p : ctx.pools().all()) {
      n += p.pool().stats().total();
      p.pool().reconnect();
    }
    log.info("RECONNECT by {}: replacing {} backends", who, n);
    return Map.of("replacing", n);
  }

  /**
   * Reads the configuration again and applies what a running proxy can change.
   *
   * @throws dev.sluice.config.ConfigException when the new configuration is invalid; nothing
   *     changes then
   */
  Map<String, Object> reload(String who) {
    Supplier<ProxyConfig> source = ctx.reloadSource();
    ProxyConfig next = source == null ? ctx.config() : source.get();
    ConfigReload plan = ConfigReload.plan(ctx.config(), next);
    ctx.reconfigure(plan);
    for (ServerPool p : ctx.pools().all()) {
      p.pool().updateSettings(ServerPool.settings(p.key(), plan.config()));
    }
    log.info(
        "RELOAD by {}: applied {}{}",
        who,
        plan.applied().isEmpty() ? "nothing (no change)" : plan.applied(),
        plan.needsRestart().isEmpty() ? "" : "; needs a restart: " + plan.needsRestart());
    return plan.summary();
  }

  /** {@link #reload}, off the caller's thread: it reads the config file. */
  CompletableFuture<Map<String, Object>> reloadOffLoop(String who) {
    return CompletableFuture.supplyAsync(() -> reload(who));
  }

  /** A graceful stop, as on SIGTERM; runs on its own thread and answers at once. */
  Map<String, Object> shutdown(String who) {
    log.info("SHUTDOWN by {}", who);
    Thread t = new Thread(ctx.shutdown(), "sluice-shutdown");
    t.setDaemon(false);
    t.start();
    return Map.of("shuttingDown", true);
  }

  private int inUse() {
    int n = 0;
    for (ServerPool p : ctx.pools().all()) {
      PoolStats s = p.pool().stats();
      n += s.active();
    }
    return n;
  }
}
