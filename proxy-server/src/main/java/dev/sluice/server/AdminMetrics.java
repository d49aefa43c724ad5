package dev.sluice.server;

import dev.sluice.cache.CacheDecision;
import dev.sluice.cache.ResultCache;
import dev.sluice.engine.CloseReason;
import dev.sluice.engine.ProxyStats;
import dev.sluice.pool.PoolStats;
import dev.sluice.resilience.ConnectGuard;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.ToDoubleFunction;
import java.util.function.ToLongFunction;

/**
 * Sluice's metrics in a Micrometer Prometheus registry: client and pool gauges, the counters of
 * {@link ProxyStats}, backend connects and the circuit, and the JVM's own. Gauges read live state
 * when scraped; the only meters updated as Sluice works are the timings and byte counts of {@link
 * ProxyMeters}, whose registry this is.
 */
final class AdminMetrics {
  private final PrometheusMeterRegistry registry;
  private final ProxyContext ctx;
  private final Set<PoolKey> poolsSeen = ConcurrentHashMap.newKeySet();

  AdminMetrics(ProxyContext ctx) {
    this.ctx = ctx;
    this.registry = ctx.meters().registry();
    new JvmMemoryMetrics().bindTo(registry);
    new JvmGcMetrics().bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ClassLoaderMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    Gauge.builder("sluice_clients", ctx, ProxyContext::clientCount)
        .description("Clients logged in")
        .register(registry);
    Gauge.builder("sluice_clients_logging_in", ctx, c -> c.pendingLogins().size())
        .description("Connections that have not completed their login")
        .register(registry);
    Gauge.builder("sluice_message_memory_reserved_bytes", ctx, c -> c.messageMemory().reserved())
        .description("Bytes reserved for clients' incomplete large messages")
        .register(registry);
    Gauge.builder(
            "sluice_upstream_circuit_open",
            ctx,
            c -> c.connectGuard().state().equals("CLOSED") ? 0 : 1)
        .description("1 while a circuit breaker of the upstream is open or half open")
        .register(registry);
    for (var circuit : ctx.connectGuard().circuits()) {
      Gauge.builder(
              "sluice_upstream_host_circuit_open", circuit, c -> c.state().equals("CLOSED") ? 0 : 1)
          .tag("host", circuit.host())
          .description("1 while this upstream host's circuit breaker is open or half open")
          .register(registry);
    }
    counter(
        "sluice_backend_connect_attempts",
        "Backend connect attempts, retries included",
        ctx.connectGuard(),
        ConnectGuard::attempts);
    counter(
        "sluice_upstream_circuit_opened",
        "Times a circuit of the upstream's hosts opened",
        ctx.connectGuard(),
        ConnectGuard::opened);
    ProxyStats s = ctx.stats();
    counter("sluice_backend_logins", "Backend logins that succeeded", s.backendLogins);
    counter("sluice_client_parses", "Named Parse messages from clients", s.clientParses);
    counter(
        "sluice_server_parses",
        "Parse messages Sluice sent to create server statements",
        s.serverParses);
    counter(
        "sluice_statement_evictions",
        "Server statements closed by the per-backend LRU",
        s.evictions);
    counter("sluice_pins", "Clients pinned to their backend", s.pins);
    counter("sluice_rejections", "Statements refused (--session-state reject)", s.rejections);
    counter("sluice_plan_retries", "Batches run again after a stale plan", s.retries);
    counter("sluice_replays", "Batches sent again on another backend after a lost one", s.replays);
    counter("sluice_broken_invariants", "Sluice's own bookkeeping found wrong (a bug)", s.bugs);
    ResultCache cache = ctx.cache();
    if (cache != null) {
      for (CacheDecision d : CacheDecision.values()) {
        FunctionCounter.builder("sluice_cache_decisions", cache, c -> c.decisions().count(d))
            .description("Query cache decisions: hit, miss, stale, or uncacheable:<reason>")
            .tag("decision", d.label())
            .register(registry);
      }
      Gauge.builder("sluice_cache_entries", cache, ResultCache::entryCount)
          .description("Answers held by the query cache")
          .register(registry);
      Gauge.builder("sluice_cache_bytes", cache, ResultCache::weightedBytes)
          .description("Bytes held by the query cache (answers and keys)")
          .register(registry);
      counter2("sluice_cache_invalidations", "Invalidations: tables, databases or all", cache);
    }
    for (CloseReason r : CloseReason.values()) {
      FunctionCounter.builder("sluice_client_closes", s.clientCloses(r), LongAdder::sum)
          .description("Client connections closed, by reason")
          .tag("reason", r.name().toLowerCase(Locale.ROOT))
          .register(registry);
    }
  }

  private void counter2(String name, String help, ResultCache cache) {
    FunctionCounter.builder(name, cache, ResultCache::invalidations)
        .description(help)
        .register(registry);
  }

  private void counter(String name, String help, LongAdder adder) {
    counter(name, help, adder, LongAdder::sum);
  }

  private <T> void counter(String name, String help, T source, ToLongFunction<T> count) {
    FunctionCounter.builder(name, source, s -> count.applyAsLong(s))
        .description(help)
        .register(registry);
  }

  /** Gauges for pools created since the last scrape, then the Prometheus text. */
  String scrape() {
    for (ServerPool p : ctx.pools().all()) {
      if (poolsSeen.add(p.key())) {
        pool(p, "size", PoolStats::total);
        pool(p, "active", PoolStats::active);
        pool(p, "idle", PoolStats::idle);
        pool(p, "connecting", PoolStats::connecting);
        pool(p, "waiting", PoolStats::waiting);
      }
    }
    return registry.scrape();
  }

  private void pool(ServerPool p, String what, ToDoubleFunction<PoolStats> f) {
    Gauge.builder("sluice_pool_" + what, p, sp -> f.applyAsDouble(sp.pool().stats()))
        .description("Backends of the pool, " + what)
        .tag("database", p.key().database())
        .tag("user", p.key().user())
        .register(registry);
  }
}
