package dev.sluice.resilience;

import dev.sluice.error.SafeErrors;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.github.resilience4j.core.IntervalFunction;
import io.github.resilience4j.retry.Retry;
import io.github.resilience4j.retry.RetryConfig;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Backend connects to one upstream, guarded. Each connect is tried again after a transient failure
 * ({@link ConnectFailures}) with exponential backoff and full jitter (Resilience4j {@link Retry},
 * waiting on the caller's scheduler, so no thread blocks): a database restart of a second or so
 * costs waiting clients a pause, not an error. A connect that still fails counts against the
 * upstream's {@link CircuitBreaker}; after {@value #FAILURES_TO_OPEN} in a row the circuit opens,
 * connects fail at once with {@link CircuitOpenException} (bounding the attempts on a database that
 * is down), and after {@link #OPEN_FOR} one probe is let through; its success closes the circuit.
 *
 * <p>Thread-safe.
 */
public final class ConnectGuard {
  static final int FAILURES_TO_OPEN = 3;
  static final Duration OPEN_FOR = Duration.ofSeconds(2);
  private static final long BACKOFF_BASE_MILLIS = 50;
  private static final long BACKOFF_CAP_MILLIS = 1_000;

  private final String upstream;
  private final CircuitBreaker breaker;
  private final Retry retry;
  private final AtomicReference<String> lastFailure = new AtomicReference<>();

  /** Connect attempts made (each retry counts). */
  public final LongAdder attempts = new LongAdder();

  /** Times the circuit opened. */
  public final LongAdder opened = new LongAdder();

  /**
   * @param retries how many times a connect is tried again after a transient failure
   * @param onTransition told of each circuit state change ("CLOSED -> OPEN"), once
   */
  public ConnectGuard(String upstream, int retries, Consumer<String> onTransition) {
    this(upstream, retries, OPEN_FOR, onTransition);
  }

  ConnectGuard(String upstream, int retries, Duration openFor, Consumer<String> onTransition) {
    this.upstream = upstream;
    this.breaker =
        CircuitBreaker.of(
            "upstream " + upstream,
            CircuitBreakerConfig.custom()
                .slidingWindowType(CircuitBreakerConfig.SlidingWindowType.COUNT_BASED)
                .slidingWindowSize(FAILURES_TO_OPEN)
                .minimumNumberOfCalls(FAILURES_TO_OPEN)
                .failureRateThreshold(100)
                .waitDurationInOpenState(openFor)
                .permittedNumberOfCallsInHalfOpenState(1)
                // HALF_OPEN on a timer, not on the next call: callers that check isOpen() first
                // (and so make no call) must not keep the circuit open for ever.
                .automaticTransitionFromOpenToHalfOpenEnabled(true)
                .recordException(ConnectFailures::isTransient)
                .build());
    this.retry =
        Retry.of(
            "connect " + upstream,
            RetryConfig.custom()
                .maxAttempts(retries + 1)
                .intervalFunction((IntervalFunction) attempt -> fullJitter(attempt))
                // Once the circuit has opened (other connects failed meanwhile), retrying this
                // one would only keep its waiters from hearing so.
                .retryOnException(e -> ConnectFailures.isTransient(e) && !isOpen())
                .failAfterMaxAttempts(false)
                .build());
    breaker
        .getEventPublisher()
        .onStateTransition(
            e -> {
              if (e.getStateTransition().getToState() == CircuitBreaker.State.OPEN) {
                opened.increment();
              }
              onTransition.accept(
                  e.getStateTransition().getFromState()
                      + " -> "
                      + e.getStateTransition().getToState());
            });
  }

  /** Attempt {@code n} (1 = the first retry) waits a random time up to base × 2^n, capped. */
  static long fullJitter(int attempt) {
    long ceiling = Math.min(BACKOFF_CAP_MILLIS, BACKOFF_BASE_MILLIS << Math.min(attempt, 20));
    return 1 + ThreadLocalRandom.current().nextLong(ceiling);
  }

  private boolean isOpen() {
    return breaker.getState() == CircuitBreaker.State.OPEN;
  }

  /**
   * While the circuit is open, the error a client gets instead of waiting for a connect (a connect
   * begun before the circuit opened may still be backing off); null otherwise.
   */
  public CircuitOpenException refusalIfOpen() {
    return isOpen() ? new CircuitOpenException(upstream, lastFailure.get()) : null;
  }

  /** The circuit's state: CLOSED, OPEN or HALF_OPEN. */
  public String state() {
    return breaker.getState().name();
  }

  /**
   * Opens a connection with {@code connect}, trying again as above; fails at once with {@link
   * CircuitOpenException} while the circuit is open.
   */
  public <C> CompletionStage<C> connect(
      Supplier<CompletionStage<C>> connect, ScheduledExecutorService scheduler) {
    if (!breaker.tryAcquirePermission()) {
      return CompletableFuture.failedFuture(new CircuitOpenException(upstream, lastFailure.get()));
    }
    long start = System.nanoTime();
    CompletableFuture<C> result = new CompletableFuture<>();
    retry
        .executeCompletionStage(
            scheduler,
            () -> {
              attempts.increment();
              return connect.get();
            })
        .whenComplete(
            (c, e) -> {
              long took = System.nanoTime() - start;
              if (e == null) {
                breaker.onSuccess(took, TimeUnit.NANOSECONDS);
                result.complete(c);
                return;
              }
              Throwable cause = ConnectFailures.unwrap(e);
              lastFailure.set(SafeErrors.describe(cause));
              // A server that answered (wrong database, bad password) is up: not a failure of
              // the upstream's availability, but the client still gets its answer.
              breaker.onError(took, TimeUnit.NANOSECONDS, cause);
              result.completeExceptionally(
                  ConnectFailures.isTransient(cause) && isOpen()
                      ? new CircuitOpenException(upstream, lastFailure.get())
                      : cause);
            });
    return result;
  }
}
