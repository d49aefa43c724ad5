package dev.sluice.server;

import dev.sluice.cache.FunctionVolatility;
import dev.sluice.cache.RelationCatalog;
import dev.sluice.cache.ResultCache;
import dev.sluice.config.Upstream;
import dev.sluice.error.SafeErrors;
import dev.sluice.server.invalidation.UpstreamJdbc;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads the catalogs the result cache decides with (every function's volatility from {@code
 * pg_proc}; every relation's kind, row security and inheritance from {@code pg_class} and {@code
 * pg_inherits}): when the cache first sees a database, after a statement that may have changed the
 * schema, and every {@link #REFRESH_NANOS}. Until the first read ends, statements that call
 * functions or read tables are not cached.
 *
 * <p>Each read is a short JDBC session of its own (application_name {@code sluice-cache-catalogs})
 * on one daemon thread, not a backend of the pools: the pools' sizes, states and statistics are the
 * clients' alone. One read per database runs at a time, started at most once a second.
 */
final class CacheCatalogs implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(CacheCatalogs.class);

  /** The periodic refresh. */
  static final long REFRESH_NANOS = 60_000_000_000L;

  private static final long MIN_GAP_NANOS = 1_000_000_000L;

  private final Upstream upstream;
  private final ResultCache cache;
  private final ScheduledExecutorService thread =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "sluice-cache-catalogs");
            t.setDaemon(true);
            return t;
          });
  private final Map<String, Long> lastStart = new ConcurrentHashMap<>();
  private final Map<String, Boolean> queued = new ConcurrentHashMap<>();
  private final Map<String, String> lastFailure = new ConcurrentHashMap<>();

  CacheCatalogs(Upstream upstream, ResultCache cache) {
    this.upstream = upstream;
    this.cache = cache;
  }

  /** Reads {@code database}'s catalogs soon (once, however often it is asked meanwhile). */
  void load(String database) {
    if (queued.putIfAbsent(database, Boolean.TRUE) != null) {
      return;
    }
    Long last = lastStart.get(database);
    long wait = last == null ? 0 : Math.max(0, MIN_GAP_NANOS - (System.nanoTime() - last));
    try {
      thread.schedule(() -> read(database), wait, TimeUnit.NANOSECONDS);
    } catch (java.util.concurrent.RejectedExecutionException e) {
      queued.remove(database); // closed
    }
  }

  /** The periodic refresh of every database the cache has seen. */
  void refreshAll() {
    long now = System.nanoTime();
    for (String db : cache.databases()) {
      Long last = lastStart.get(db);
      if (last == null || now - last > REFRESH_NANOS) {
        load(db);
      }
    }
  }

  private void read(String database) {
    queued.remove(database);
    lastStart.put(database, System.nanoTime());
    Upstream up =
        new Upstream(
            upstream.hosts(),
            database,
            upstream.user(),
            upstream.password(),
            upstream.sslMode(),
            upstream.parameters());
    Properties p = UpstreamJdbc.properties(up);
    p.setProperty("ApplicationName", "sluice-cache-catalogs");
    p.setProperty("targetServerType", "any");
    try (Connection c = DriverManager.getConnection(UpstreamJdbc.url(up), p);
        Statement st = c.createStatement()) {
      FunctionVolatility.Builder f = FunctionVolatility.builder();
      int functions = 0;
      try (ResultSet rs = st.executeQuery(FunctionVolatility.PG_PROC_QUERY)) {
        while (rs.next()) {
          f.add(rs.getString(1), rs.getString(2), rs.getString(3));
          functions++;
        }
      }
      RelationCatalog.Builder r = RelationCatalog.builder();
      try (ResultSet rs = st.executeQuery(RelationCatalog.RELATIONS_QUERY)) {
        while (rs.next()) {
          r.relation(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4));
        }
      }
      try (ResultSet rs = st.executeQuery(RelationCatalog.INHERITS_QUERY)) {
        while (rs.next()) {
          r.inherits(rs.getString(1), rs.getString(2));
        }
      }
      RelationCatalog relations = r.build();
      cache.catalogLoaded(database, f.build(), relations);
      if (lastFailure.remove(database) != null) {
        log.info("the query cache reads the catalogs of {} again", database);
      }
      log.debug("cache catalogs of {}: {} functions, {}", database, functions, relations);
    } catch (SQLException | RuntimeException e) {
      String why = SafeErrors.describe(e);
      if (!why.equals(lastFailure.put(database, why))) {
        log.warn(
            "cannot read the catalogs of {} for the query cache (its statements that read tables"
                + " or call functions are not cached until it can): {}",
            database,
            why);
      }
    }
  }

  @Override
  public void close() {
    thread.shutdownNow();
  }
}
