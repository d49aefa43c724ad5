package dev.sluice.server;

import dev.sluice.cache.FunctionVolatility;
import dev.sluice.cache.RelationCatalog;
import dev.sluice.cache.ResultCache;
import dev.sluice.error.SafeErrors;
import io.netty.channel.EventLoop;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads the catalogs the result cache decides with (every function's volatility from {@code
 * pg_proc}; every relation's kind, row security and inheritance from {@code pg_class} and {@code
 * pg_inherits}) on a backend of the database's pool, as a client would borrow one: when the cache
 * first sees a database, after a statement that may have changed the schema, and every {@link
 * #REFRESH_NANOS}. At most one read per database runs at a time, and one is started at most once a
 * second; until the first read ends, statements that call functions or read tables are not cached.
 */
final class CacheCatalogs {
  private static final Logger log = LoggerFactory.getLogger(CacheCatalogs.class);

  /** The periodic refresh. */
  static final long REFRESH_NANOS = 60_000_000_000L;

  private static final long MIN_GAP_NANOS = 1_000_000_000L;

  private final ProxyContext ctx;
  private final ResultCache cache;
  private final Map<String, Long> lastStart = new ConcurrentHashMap<>();
  private final Map<String, Boolean> running = new ConcurrentHashMap<>();
  private final Map<String, Boolean> again = new ConcurrentHashMap<>();

  CacheCatalogs(ProxyContext ctx, ResultCache cache) {
    this.ctx = ctx;
    this.cache = cache;
  }

  /** Reads {@code database}'s catalogs soon (now, or after the read under way). */
  void load(String database) {
    if (running.putIfAbsent(database, Boolean.TRUE) != null) {
      again.put(database, Boolean.TRUE);
      return;
    }
    long now = System.nanoTime();
    Long last = lastStart.get(database);
    EventLoop loop = ctx.anyLoop();
    long wait = last == null ? 0 : Math.max(0, MIN_GAP_NANOS - (now - last));
    loop.schedule(() -> start(database, loop), wait, java.util.concurrent.TimeUnit.NANOSECONDS);
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

  private void start(String database, EventLoop loop) {
    lastStart.put(database, System.nanoTime());
    ServerPool pool;
    try {
      pool = ctx.pools().get(new PoolKey(database, ctx.config().upstream().user()));
    } catch (RuntimeException e) {
      finish(database, "no pool: " + SafeErrors.describe(e));
      return;
    }
    pool.acquire(
        loop,
        (s, failure) -> {
          if (failure != null) {
            finish(database, "no backend: " + SafeErrors.describe(failure));
            return;
          }
          s.setAutoRead(true);
          read(s, pool, database, loop);
        });
  }

  private void read(ServerConnection s, ServerPool pool, String database, EventLoop loop) {
    InternalQuery.rows(
        s,
        FunctionVolatility.PG_PROC_QUERY,
        procs ->
            InternalQuery.rows(
                s,
                RelationCatalog.RELATIONS_QUERY,
                relations ->
                    InternalQuery.rows(
                        s,
                        RelationCatalog.INHERITS_QUERY,
                        inherits ->
                            loop.execute(
                                () -> {
                                  boolean ok = procs.ok() && relations.ok() && inherits.ok();
                                  pool.release(s, ok, ok ? "catalogs read" : "catalog read failed");
                                  if (!ok) {
                                    finish(database, "a catalog query failed");
                                    return;
                                  }
                                  loaded(database, procs.rows(), relations.rows(), inherits.rows());
                                  finish(database, null);
                                }))));
  }

  private void loaded(
      String database,
      List<List<String>> procs,
      List<List<String>> relations,
      List<List<String>> inherits) {
    FunctionVolatility.Builder f = FunctionVolatility.builder();
    for (List<String> r : procs) {
      f.add(r.get(0), r.get(1), r.get(2));
    }
    RelationCatalog.Builder rc = RelationCatalog.builder();
    for (List<String> r : relations) {
      rc.relation(r.get(0), r.get(1), r.get(2), r.get(3));
    }
    for (List<String> r : inherits) {
      rc.inherits(r.get(0), r.get(1));
    }
    FunctionVolatility functions = f.build();
    RelationCatalog catalog = rc.build();
    cache.catalogLoaded(database, functions, catalog);
    log.debug("cache catalogs of {}: {} functions, {} relations", database, procs.size(), catalog);
  }

  private void finish(String database, String failure) {
    if (failure != null) {
      log.warn("cannot read the catalogs of {} for the query cache: {}", database, failure);
    }
    running.remove(database);
    if (again.remove(database) != null) {
      load(database);
    }
  }
}
