package dev.sluice.server;

import dev.sluice.cache.ResultCache;
import dev.sluice.config.ProxyConfig;
import dev.sluice.engine.CloseReason;
import dev.sluice.engine.ProxyStats;
import dev.sluice.pool.PoolStats;
import io.netty.channel.Channel;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * What the admin port shows, as plain maps and lists for Jackson: health, pools, clients, backends
 * and the effective configuration (secrets masked). Client views are read on each client's own
 * event loop.
 */
final class AdminViews {
  private final ProxyContext ctx;

  AdminViews(ProxyContext ctx) {
    this.ctx = ctx;
  }

  /** Why the proxy is not ready to serve, or null when it is. */
  String notReadyBecause() {
    if (!ctx.connectGuard().state().equals("CLOSED")) {
      return "the upstream's circuit is " + ctx.connectGuard().state().toLowerCase(Locale.ROOT);
    }
    for (ServerPool p : ctx.pools().all()) {
      PoolStats s = p.pool().stats();
      int open = s.total() - s.connecting();
      if (open < p.pool().settings().minIdle()) {
        return "pool "
            + p.key()
            + " holds "
            + open
            + " of its "
            + p.pool().settings().minIdle()
            + " warm backends";
      }
    }
    return null;
  }

  /** The result cache's state: its size, its settings and every decision counted by reason. */
  Map<String, Object> cache() {
    Map<String, Object> c = new LinkedHashMap<>();
    ResultCache cache = ctx.cache();
    if (cache == null) {
      c.put("enabled", false);
      c.put("reason", "--cache off");
      return c;
    }
    c.put("enabled", true);
    c.put("entries", cache.entryCount());
    c.put("bytes", cache.weightedBytes());
    c.put("maxBytes", cache.settings().maxSizeBytes());
    c.put("maxEntryBytes", cache.settings().maxEntryBytes());
    c.put("maxAgeSeconds", cache.settings().maxAge().toMillis() / 1000.0);
    c.put(
        "staleWhileRevalidateSeconds", cache.settings().staleWhileRevalidate().toMillis() / 1000.0);
    c.put("invalidation", ctx.config().cache().invalidation().flagValue());
    Map<String, Long> decisions = new LinkedHashMap<>();
    cache.decisions().snapshot().forEach((d, n) -> decisions.put(d.label(), n));
    long hits = decisions.get("hit") + decisions.get("stale");
    long lookups = hits + decisions.get("miss");
    c.put("hitRatio", lookups == 0 ? 0.0 : (double) hits / lookups);
    c.put("stores", cache.stores());
    c.put("invalidations", cache.invalidations());
    c.put("fillsRunning", cache.fillsRunning());
    c.put("decisions", decisions);
    c.put("catalogs", cache.catalogSizes());
    c.put(
        "invalidationSources",
        ctx.invalidationSources().stream().map(src -> src.status().asMap()).toList());
    return c;
  }

  Map<String, Object> health() {
    String why = notReadyBecause();
    Map<String, Object> h = new LinkedHashMap<>();
    h.put("status", why == null ? "up" : "degraded");
    if (why != null) {
      h.put("reason", why);
    }
    Map<String, Object> upstream = new LinkedHashMap<>();
    upstream.put("hosts", ctx.config().upstream().hosts().stream().map(Object::toString).toList());
    upstream.put("circuit", ctx.connectGuard().state());
    upstream.put("circuits", circuits());
    upstream.put("connectAttempts", ctx.connectGuard().attempts());
    upstream.put("lastLoginMillis", ctx.stats().lastLoginMillis.get());
    h.put("upstream", upstream);
    h.put("clients", ctx.clientCount());
    h.put("pools", pools());
    Map<String, Object> cache = cache();
    Map<String, Object> brief = new LinkedHashMap<>();
    for (String k : new String[] {"enabled", "entries", "bytes", "hitRatio", "invalidation"}) {
      if (cache.containsKey(k)) {
        brief.put(k, cache.get(k));
      }
    }
    h.put("cache", brief);
    return h;
  }

  /** Each upstream host's circuit: state, times opened, last connection-class failure. */
  private List<Map<String, Object>> circuits() {
    List<Map<String, Object>> out = new ArrayList<>();
    for (var c : ctx.connectGuard().circuits()) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("host", c.host());
      m.put("state", c.state());
      m.put("attempts", c.attempts.sum());
      m.put("opened", c.opened.sum());
      m.put("lastFailure", c.lastFailure());
      out.add(m);
    }
    return out;
  }

  /**
   * The counters in one compact object: clients now, and totals since start (backend logins,
   * connect attempts, replays, pins, rejections, client connections closed by an error and by each
   * reason, ...).
   */
  Map<String, Object> stats() {
    ProxyStats s = ctx.stats();
    Map<String, Object> v = new LinkedHashMap<>();
    v.put("clients", ctx.clientCount());
    v.put("clientsLoggingIn", ctx.pendingLogins().size());
    v.put("backendLogins", s.backendLogins.sum());
    v.put("connectAttempts", ctx.connectGuard().attempts());
    v.put("circuit", ctx.connectGuard().state());
    v.put("circuitOpened", ctx.connectGuard().opened());
    v.put("replays", s.replays.sum());
    v.put("planRetries", s.retries.sum());
    v.put("pins", s.pins.sum());
    v.put("rejections", s.rejections.sum());
    v.put("failedIdleChecks", s.failedChecks.sum());
    v.put("clientParses", s.clientParses.sum());
    v.put("serverParses", s.serverParses.sum());
    v.put("statementEvictions", s.evictions.sum());
    v.put("brokenInvariants", s.bugs.sum());
    v.put("clientErrors", s.clientErrors());
    Map<String, Long> closes = new LinkedHashMap<>();
    for (CloseReason r : CloseReason.values()) {
      closes.put(r.name().toLowerCase(Locale.ROOT), s.clientCloses(r).sum());
    }
    v.put("clientCloses", closes);
    return v;
  }

  List<Map<String, Object>> pools() {
    List<Map<String, Object>> out = new ArrayList<>();
    for (ServerPool p : ctx.pools().all()) {
      PoolStats s = p.pool().stats();
      Map<String, Object> v = new LinkedHashMap<>();
      v.put("database", p.key().database());
      v.put("user", p.key().user());
      v.put("total", s.total());
      v.put("active", s.active());
      v.put("idle", s.idle());
      v.put("connecting", s.connecting());
      v.put("waiting", s.waiting());
      v.put("maxSize", p.pool().settings().maxSize());
      v.put("minIdle", p.pool().settings().minIdle());
      out.add(v);
    }
    return out;
  }

  List<Map<String, Object>> servers() {
    List<Map<String, Object>> out = new ArrayList<>();
    for (ServerPool p : ctx.pools().all()) {
      for (ServerConnection s : p.pool().openConnections()) {
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("id", s.id());
        v.put("pool", p.key().toString());
        v.put("state", s.session().state().name());
        v.put("remote", String.valueOf(s.channel().remoteAddress()));
        v.put("preparedStatements", s.session().statements().size());
        out.add(v);
      }
    }
    return out;
  }

  /** Each client as its own event loop sees it (called off the client loops only). */
  List<Map<String, Object>> clients() {
    return clients(false);
  }

  /**
   * Each client. {@code onClientLoop}: the caller runs on a client event loop (the console) and
   * must not wait for another; it reads each client directly, a diagnostic view that may be a
   * moment stale for clients of other loops.
   */
  List<Map<String, Object>> clients(boolean onClientLoop) {
    List<Map<String, Object>> out = new ArrayList<>();
    for (Channel ch : ctx.clientChannels()) {
      ClientConnection c = ch.pipeline().get(ClientConnection.class);
      if (c == null) {
        continue;
      }
      if (onClientLoop || ch.eventLoop().inEventLoop()) {
        out.add(c.view());
        continue;
      }
      try {
        out.add(ch.eventLoop().submit(c::view).get(2, TimeUnit.SECONDS));
      } catch (ExecutionException | TimeoutException e) {
        // gone meanwhile, or its loop is busy: left out of this view
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    return out;
  }

  /** Every setting as it is in effect; the password and the admin token never appear. */
  Map<String, Object> config() {
    ProxyConfig c = ctx.config();
    Map<String, Object> v = new LinkedHashMap<>();
    v.put("listen", c.listen().toString());
    v.put("upstream", c.upstream().toString());
    Map<String, String> params = new LinkedHashMap<>();
    c.upstream()
        .parameters()
        .forEach(
            (k, val) ->
                params.put(k, k.toLowerCase(Locale.ROOT).contains("password") ? "****" : val));
    v.put("upstreamParameters", params);
    v.put("poolMode", c.poolMode().flagValue());
    v.put("poolSize", c.poolSize());
    v.put("minIdle", c.minIdle());
    v.put("acquireTimeout", c.acquireTimeout().toString());
    v.put("maxClientConnections", c.maxClientConnections());
    v.put("maxPendingLogins", c.maxPendingLogins());
    v.put("loginFailureLimit", c.loginFailureLimit());
    v.put("loginFailureWindow", c.loginFailureWindow().toString());
    v.put("clientLoginTimeout", c.clientLoginTimeout().toString());
    v.put("serverLifetime", c.serverLifetime().toString());
    v.put("serverIdleTimeout", c.serverIdleTimeout().toString());
    v.put("connectTimeout", c.connectTimeout().toString());
    v.put("connectRetries", c.connectRetries());
    v.put("maxMessageSize", c.maxMessageSize());
    v.put("maxMessageMemory", c.maxMessageMemory());
    v.put("serverResetQuery", c.serverResetQuery());
    v.put("clientAuth", c.clientAuth().flagValue());
    v.put("sessionState", c.sessionState().flagValue());
    v.put("maxPreparedStatements", c.maxPreparedStatements());
    v.put("workers", c.workerThreads());
    v.put("adminListen", c.adminListen() == null ? "off" : c.adminListen().toString());
    v.put("adminToken", c.adminToken() == null ? null : "****");
    return v;
  }
}
