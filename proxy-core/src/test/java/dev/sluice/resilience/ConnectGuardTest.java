package dev.sluice.resilience;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.error.ServerErrorException;
import dev.sluice.protocol.Severity;
import dev.sluice.protocol.backend.ErrorResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class ConnectGuardTest {
  private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
  private final List<String> transitions = new ArrayList<>();

  @AfterEach
  void stop() {
    scheduler.shutdownNow();
  }

  private static Throwable refused() {
    return new TransientConnectException("could not connect: Connection refused");
  }

  private static Throwable noSuchDatabase() {
    return new ServerErrorException(
        ErrorResponse.of(Severity.FATAL, "3D000", "database \"x\" does not exist", null, null));
  }

  /** Fails the first {@code failures} calls with {@code error}, then succeeds with "conn". */
  private static Supplier<CompletionStage<String>> failing(
      int failures, Throwable error, AtomicInteger calls) {
    return () ->
        calls.incrementAndGet() <= failures
            ? CompletableFuture.failedFuture(error)
            : CompletableFuture.completedFuture("conn");
  }

  private static Object outcome(CompletionStage<String> s) throws InterruptedException {
    try {
      return s.toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      return e.getCause();
    } catch (java.util.concurrent.TimeoutException e) {
      throw new AssertionError("no outcome within 10 s", e);
    }
  }

  @Test
  void aTransientFailureIsTriedAgainWithBackoffAndTheCallerNeverSeesIt() throws Exception {
    ConnectGuard g = new ConnectGuard("db:5432", 4, transitions::add);
    AtomicInteger calls = new AtomicInteger();
    assertThat(outcome(g.connect(failing(3, refused(), calls), scheduler))).isEqualTo("conn");
    assertThat(calls.get()).isEqualTo(4);
    assertThat(g.attempts.sum()).isEqualTo(4);
    assertThat(g.state()).isEqualTo("CLOSED");
  }

  @Test
  void theServersOwnRefusalIsNotTriedAgainNorCountedAgainstTheUpstream() throws Exception {
    ConnectGuard g = new ConnectGuard("db:5432", 4, transitions::add);
    for (int i = 0; i < 5; i++) {
      AtomicInteger calls = new AtomicInteger();
      assertThat(outcome(g.connect(failing(99, noSuchDatabase(), calls), scheduler)))
          .isInstanceOf(ServerErrorException.class);
      assertThat(calls.get()).isEqualTo(1);
    }
    assertThat(g.state()).isEqualTo("CLOSED");
  }

  @Test
  void repeatedFailuresOpenTheCircuitWhichFailsFastUntilAProbeSucceeds() throws Exception {
    ConnectGuard g = new ConnectGuard("db:5432", 1, Duration.ofMillis(100), transitions::add);
    for (int i = 0; i < ConnectGuard.FAILURES_TO_OPEN - 1; i++) {
      assertThat(outcome(g.connect(failing(99, refused(), new AtomicInteger()), scheduler)))
          .isInstanceOf(TransientConnectException.class);
    }
    // the failure that opens the circuit already says so: its waiters hear 57P03 like later ones
    assertThat(outcome(g.connect(failing(99, refused(), new AtomicInteger()), scheduler)))
        .isInstanceOf(CircuitOpenException.class);
    assertThat(g.state()).isEqualTo("OPEN");
    assertThat(transitions).containsExactly("CLOSED -> OPEN");
    long attemptsWhenOpened = g.attempts.sum();

    // while open: an answer at once, naming the upstream and the last failure; no attempt made
    AtomicInteger calls = new AtomicInteger();
    long t0 = System.nanoTime();
    Object fast = outcome(g.connect(failing(0, refused(), calls), scheduler));
    assertThat((System.nanoTime() - t0) / 1_000_000).isLessThan(100);
    assertThat(fast)
        .isInstanceOf(CircuitOpenException.class)
        .satisfies(
            e ->
                assertThat(((Throwable) e).getMessage())
                    .contains("db:5432")
                    .contains("Connection refused"));
    assertThat(calls.get()).isZero();
    assertThat(g.attempts.sum()).isEqualTo(attemptsWhenOpened);

    // after the open period one probe goes through; its success closes the circuit
    long deadline = System.nanoTime() + 5_000_000_000L;
    Object probe;
    do {
      probe = outcome(g.connect(failing(0, refused(), calls), scheduler));
      assertThat(System.nanoTime()).as("a probe let through").isLessThan(deadline);
    } while (probe instanceof CircuitOpenException);
    assertThat(probe).isEqualTo("conn");
    assertThat(g.state()).isEqualTo("CLOSED");
    assertThat(transitions)
        .containsExactly("CLOSED -> OPEN", "OPEN -> HALF_OPEN", "HALF_OPEN -> CLOSED");
    assertThat(g.opened.sum()).isEqualTo(1);
  }

  @Test
  void backoffHasFullJitterUnderAGrowingCeiling() {
    for (int attempt = 1; attempt <= 10; attempt++) {
      long ceiling = Math.min(1000, 50L << attempt);
      for (int i = 0; i < 200; i++) {
        assertThat(ConnectGuard.fullJitter(attempt)).isBetween(1L, ceiling);
      }
    }
  }
}
