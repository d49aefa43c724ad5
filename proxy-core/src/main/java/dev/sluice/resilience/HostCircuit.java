package dev.sluice.resilience;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BiConsumer;

/**
 * One upstream host's circuit breaker (Resilience4j {@link CircuitBreaker}). It opens after {@value
 * #FAILURES_TO_OPEN} guarded connects in a row left this host with a connection-class failure
 * ({@link ConnectFailures#isTransient}); while open, connects skip the host (or, when every host is
 * open, fail at once), and after the open period one probe is let through, whose success closes it.
 * A host that answered with an error about the login itself counts as up.
 *
 * <p>Thread-safe.
 */
public final class HostCircuit {
  static final int FAILURES_TO_OPEN = 3;

  private final String host;
  private final CircuitBreaker breaker;
  private final AtomicReference<String> lastFailure = new AtomicReference<>();

  /** Connect attempts to this host that its circuit let through. */
  public final LongAdder attempts = new LongAdder();

  /** Times this host's circuit opened. */
  public final LongAdder opened = new LongAdder();

  /**
   * @param onTransition told of each state change (this circuit, "CLOSED -> OPEN"), once, on the
   *     thread that caused it
   */
  HostCircuit(String host, Duration openFor, BiConsumer<HostCircuit, String> onTransition) {
    this.host = host;
    this.breaker =
        CircuitBreaker.of(
            "upstream " + host,
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
    breaker
        .getEventPublisher()
        .onStateTransition(
            e -> {
              if (e.getStateTransition().getToState() == CircuitBreaker.State.OPEN) {
                opened.increment();
              }
              onTransition.accept(
                  this,
                  e.getStateTransition().getFromState()
                      + " -> "
                      + e.getStateTransition().getToState());
            });
  }

  /** The host, as the upstream URL names it ("db1:5432"). */
  public String host() {
    return host;
  }

  /** CLOSED, OPEN or HALF_OPEN. */
  public String state() {
    return breaker.getState().name();
  }

  boolean isOpen() {
    return breaker.getState() == CircuitBreaker.State.OPEN;
  }

  /** The last connection-class failure, described without secrets; null before any. */
  public String lastFailure() {
    return lastFailure.get();
  }

  /** The error for a connect this open circuit refuses. */
  CircuitOpenException refusal() {
    return new CircuitOpenException(host, lastFailure.get());
  }

  /** False while the circuit is open (or its one half-open probe is taken). */
  boolean tryAcquire() {
    return breaker.tryAcquirePermission();
  }

  void release() {
    breaker.releasePermission();
  }

  void succeeded(long nanos) {
    breaker.onSuccess(nanos, TimeUnit.NANOSECONDS);
  }

  /** Records a failure; only connection-class ones count against the host. */
  void failed(long nanos, Throwable cause, String described) {
    if (ConnectFailures.isTransient(cause)) {
      lastFailure.set(described);
    }
    breaker.onError(nanos, TimeUnit.NANOSECONDS, cause);
  }
}
