package dev.sluice.resilience;

import io.github.resilience4j.core.IntervalFunction;
import io.github.resilience4j.retry.Retry;
import io.github.resilience4j.retry.RetryConfig;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BiConsumer;
import java.util.function.Function;

/**
 * Backend connects to one upstream (one or more hosts), guarded. Each connect is tried again after
 * a transient failure ({@link ConnectFailures}) with exponential backoff and full jitter
 * (Resilience4j {@link Retry}, waiting on the caller's scheduler, so no thread blocks): a database
 * restart of a second or so costs waiting clients a pause, not an error. Each host has its own
 * {@link HostCircuit}: a connect that had to give up on a host counts against it (once per connect,
 * see {@link ConnectRun}); after {@value HostCircuit#FAILURES_TO_OPEN} in a row the host's circuit
 * opens and connects skip it. While every host's circuit is open, connects fail at once with {@link
 * CircuitOpenException} (bounding the attempts on a database that is down); after {@link #OPEN_FOR}
 * one probe per host is let through, whose success closes that host's circuit.
 *
 * <p>Thread-safe.
 */
public final class ConnectGuard {
  static final int FAILURES_TO_OPEN = HostCircuit.FAILURES_TO_OPEN;
  static final Duration OPEN_FOR = Duration.ofSeconds(2);
  private static final long BACKOFF_BASE_MILLIS = 50;
  private static final long BACKOFF_CAP_MILLIS = 1_000;

  private final String upstream;
  private final Duration openFor;
  private final BiConsumer<HostCircuit, String> onTransition;
  private final Map<String, HostCircuit> byHost = new ConcurrentHashMap<>();

  /** The same circuits in the order their hosts were first seen. */
  private final List<HostCircuit> circuits = new CopyOnWriteArrayList<>();

  private final Retry retry;
  private final AtomicReference<String> lastFailure = new AtomicReference<>();

  /**
   * @param hosts the upstream's hosts, in order ("db1:5432")
   * @param retries how many times a connect is tried again after a transient failure
   * @param onTransition told of each host's circuit state change (its circuit, "CLOSED -> OPEN"),
   *     once
   */
  public ConnectGuard(
      List<String> hosts, int retries, BiConsumer<HostCircuit, String> onTransition) {
    this(hosts, retries, OPEN_FOR, onTransition);
  }

  ConnectGuard(
      List<String> hosts,
      int retries,
      Duration openFor,
      BiConsumer<HostCircuit, String> onTransition) {
    this.upstream = hosts.size() == 1 ? hosts.get(0) : hosts.toString();
    this.openFor = openFor;
    this.onTransition = onTransition;
    for (String h : hosts) {
      circuit(h);
    }
    this.retry =
        Retry.of(
            "connect " + upstream,
            RetryConfig.custom()
                .maxAttempts(retries + 1)
                .intervalFunction((IntervalFunction) attempt -> fullJitter(attempt))
                // Once every circuit has opened (other connects failed meanwhile), retrying this
                // one would only keep its waiters from hearing so.
                .retryOnException(e -> ConnectFailures.isTransient(e) && !allOpen())
                .failAfterMaxAttempts(false)
                .build());
  }

  /** Attempt {@code n} (1 = the first retry) waits a random time up to base × 2^n, capped. */
  static long fullJitter(int attempt) {
    long ceiling = Math.min(BACKOFF_CAP_MILLIS, BACKOFF_BASE_MILLIS << Math.min(attempt, 20));
    return 1 + ThreadLocalRandom.current().nextLong(ceiling);
  }

  /** The circuit of {@code host}, made on first use for a host the upstream URL did not list. */
  HostCircuit circuit(String host) {
    return byHost.computeIfAbsent(
        host,
        h -> {
          HostCircuit c = new HostCircuit(h, openFor, onTransition);
          circuits.add(c);
          return c;
        });
  }

  private boolean allOpen() {
    for (HostCircuit c : circuits) {
      if (!c.isOpen()) {
        return false;
      }
    }
    return !circuits.isEmpty();
  }

  /** Connect attempts made: host visits an open circuit let through (each retry counts). */
  public long attempts() {
    return circuits.stream().mapToLong(c -> c.attempts.sum()).sum();
  }

  /** Times a host's circuit opened. */
  public long opened() {
    return circuits.stream().mapToLong(c -> c.opened.sum()).sum();
  }

  void noteFailure(String described) {
    lastFailure.set(described);
  }

  /**
   * While every host's circuit is open, the error a client gets instead of waiting for a connect (a
   * connect begun before the circuits opened may still be backing off); null otherwise.
   */
  public CircuitOpenException refusalIfOpen() {
    return allOpen() ? new CircuitOpenException(upstream, lastFailure.get()) : null;
  }

  /**
   * The upstream's circuit state: CLOSED, OPEN or HALF_OPEN when its hosts agree (always, for one
   * host), else PARTLY_OPEN.
   */
  public String state() {
    String state = null;
    for (HostCircuit c : circuits) {
      String s = c.state();
      if (state != null && !state.equals(s)) {
        return "PARTLY_OPEN";
      }
      state = s;
    }
    return state == null ? "CLOSED" : state;
  }

  /** Each host's circuit, in the order the hosts were first seen. */
  public List<HostCircuit> circuits() {
    return List.copyOf(circuits);
  }

  /**
   * Opens a connection with {@code connect}, trying again as above; fails at once with {@link
   * CircuitOpenException} while every host's circuit is open. {@code connect} reaches each host
   * through {@link ConnectRun#visit}.
   */
  public <C> CompletionStage<C> connect(
      Function<ConnectRun, CompletionStage<C>> connect, ScheduledExecutorService scheduler) {
    if (allOpen()) {
      return CompletableFuture.failedFuture(new CircuitOpenException(upstream, lastFailure.get()));
    }
    ConnectRun run = new ConnectRun(this);
    CompletableFuture<C> result = new CompletableFuture<>();
    retry
        .executeCompletionStage(scheduler, () -> connect.apply(run))
        .whenComplete(
            (c, e) -> {
              run.finish(e);
              if (e == null) {
                result.complete(c);
                return;
              }
              Throwable cause = ConnectFailures.unwrap(e);
              result.completeExceptionally(
                  (ConnectFailures.isTransient(cause) || cause instanceof CircuitOpenException)
                          && allOpen()
                      ? new CircuitOpenException(upstream, lastFailure.get())
                      : cause);
            });
    return result;
  }
}
