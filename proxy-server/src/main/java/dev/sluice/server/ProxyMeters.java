package dev.sluice.server;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * The meters Sluice updates while it works, as opposed to the gauges and counters {@link
 * AdminMetrics} reads when scraped: how long clients wait for a backend, how long their requests
 * take, and the bytes on each side. They live in the registry that {@code /metrics} scrapes.
 */
final class ProxyMeters {
  /** Bucket bounds for waits and queries: sub-millisecond hand-overs up to acquire timeouts. */
  private static final Duration[] BUCKETS = {
    Duration.ofNanos(100_000),
    Duration.ofNanos(500_000),
    Duration.ofMillis(1),
    Duration.ofMillis(5),
    Duration.ofMillis(10),
    Duration.ofMillis(25),
    Duration.ofMillis(50),
    Duration.ofMillis(100),
    Duration.ofMillis(250),
    Duration.ofMillis(500),
    Duration.ofSeconds(1),
    Duration.ofMillis(2_500),
    Duration.ofSeconds(5),
    Duration.ofSeconds(10),
    Duration.ofSeconds(30),
  };

  private final PrometheusMeterRegistry registry =
      new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final Timer acquireWait =
      timer(
          "sluice_acquire_wait",
          "Time a client waited for a backend, from asking the pool to getting one (or failing)");
  private final Timer queryDuration =
      timer(
          "sluice_query_duration",
          "Time from a client's request (Query, FunctionCall, Sync) to its ReadyForQuery");
  private final ByteCounter clientBytes = new ByteCounter();
  private final ByteCounter serverBytes = new ByteCounter();

  ProxyMeters() {
    bytes("sluice_client_bytes_received", "Protocol bytes read from clients", clientBytes.received);
    bytes("sluice_client_bytes_sent", "Protocol bytes written to clients", clientBytes.sent);
    bytes(
        "sluice_server_bytes_received", "Protocol bytes read from backends", serverBytes.received);
    bytes("sluice_server_bytes_sent", "Protocol bytes written to backends", serverBytes.sent);
  }

  private Timer timer(String name, String help) {
    return Timer.builder(name).description(help).serviceLevelObjectives(BUCKETS).register(registry);
  }

  private void bytes(String name, String help, LongAdder adder) {
    FunctionCounter.builder(name, adder, LongAdder::sum).description(help).register(registry);
  }

  PrometheusMeterRegistry registry() {
    return registry;
  }

  /** Records a wait for a backend that began at {@code startNanos} (System.nanoTime()). */
  void acquireWaited(long startNanos) {
    acquireWait.record(System.nanoTime() - startNanos, TimeUnit.NANOSECONDS);
  }

  /** Records one request answered with ReadyForQuery {@code nanos} after it arrived. */
  void queryAnswered(long nanos) {
    queryDuration.record(nanos, TimeUnit.NANOSECONDS);
  }

  /** The handler that counts client channels' bytes (shared by all of them). */
  ByteCounter clientBytes() {
    return clientBytes;
  }

  /** The handler that counts backend channels' bytes (shared by all of them). */
  ByteCounter serverBytes() {
    return serverBytes;
  }
}
