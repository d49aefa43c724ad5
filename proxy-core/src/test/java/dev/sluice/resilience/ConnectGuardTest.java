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
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
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

  /** A connect to the one host "db:5432". */
  private static Function<ConnectRun, CompletionStage<String>> oneHost(
      Supplier<CompletionStage<String>> attempt) {
    return run -> run.visit("db:5432", attempt);
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
    ConnectGuard g = new ConnectGuard(List.of("db:5432"), 4, (h, c) -> transitions.add(c));
    AtomicInteger calls = new AtomicInteger();
    assertThat(outcome(g.connect(oneHost(failing(3, refused(), calls)), scheduler)))
        .isEqualTo("conn");
    assertThat(calls.get()).isEqualTo(4);
    assertThat(g.attempts()).isEqualTo(4);
    assertThat(g.state()).isEqualTo("CLOSED");
  }

  @Test
  void theServersOwnRefusalIsNotTriedAgainNorCountedAgainstTheUpstream() throws Exception {
    ConnectGuard g = new ConnectGuard(List.of("db:5432"), 4, (h, c) -> transitions.add(c));
    for (int i = 0; i < 5; i++) {
      AtomicInteger calls = new AtomicInteger();
      assertThat(outcome(g.connect(oneHost(failing(99, noSuchDatabase(), calls)), scheduler)))
          .isInstanceOf(ServerErrorException.class);
      assertThat(calls.get()).isEqualTo(1);
    }
    assertThat(g.state()).isEqualTo("CLOSED");
  }

  @Test
  void repeatedFailuresOpenTheCircuitWhichFailsFastUntilAProbeSucceeds() throws Exception {
    ConnectGuard g =
        new ConnectGuard(
            List.of("db:5432"), 1, Duration.ofMillis(100), (h, c) -> transitions.add(c));
    for (int i = 0; i < ConnectGuard.FAILURES_TO_OPEN - 1; i++) {
      assertThat(
              outcome(g.connect(oneHost(failing(99, refused(), new AtomicInteger())), scheduler)))
          .isInstanceOf(TransientConnectException.class);
    }
    // the failure that opens the circuit already says so: its waiters hear 57P03 like later ones
    assertThat(outcome(g.connect(oneHost(failing(99, refused(), new AtomicInteger())), scheduler)))
        .isInstanceOf(CircuitOpenException.class);
    assertThat(g.state()).isEqualTo("OPEN");
    assertThat(transitions).containsExactly("CLOSED -> OPEN");
    long attemptsWhenOpened = g.attempts();

    // while open: an answer at once, naming the upstream and the last failure; no attempt made
    AtomicInteger calls = new AtomicInteger();
    long t0 = System.nanoTime();
    Object fast = outcome(g.connect(oneHost(failing(0, refused(), calls)), scheduler));
    assertThat((System.nanoTime() - t0) / 1_000_000).isLessThan(100);
    assertThat(fast)
        .isInstanceOf(CircuitOpenException.class)
        .satisfies(
            e ->
                assertThat(((Throwable) e).getMessage())
                    .contains("db:5432")
                    .contains("Connection refused"));
    assertThat(calls.get()).isZero();
    assertThat(g.attempts()).isEqualTo(attemptsWhenOpened);

    // after the open period one probe goes through; its success closes the circuit
    long deadline = System.nanoTime() + 5_000_000_000L;
    Object probe;
    do {
      probe = outcome(g.connect(oneHost(failing(0, refused(), calls)), scheduler));
      assertThat(System.nanoTime()).as("a probe let through").isLessThan(deadline);
    } while (probe instanceof CircuitOpenException);
    assertThat(probe).isEqualTo("conn");
    assertThat(g.state()).isEqualTo("CLOSED");
    assertThat(transitions)
        .containsExactly("CLOSED -> OPEN", "OPEN -> HALF_OPEN", "HALF_OPEN -> CLOSED");
    assertThat(g.opened()).isEqualTo(1);
  }

  @Test
  void aDeadHostInAListOpensItsOwnCircuitAndIsSkippedWhileTheOthersServe() throws Exception {
    List<String> changes = new ArrayList<>();
    ConnectGuard g =
        new ConnectGuard(
            List.of("a:5432", "b:5432"),
            2,
            Duration.ofMillis(300),
            (h, c) -> changes.add(h.host() + " " + c));
    AtomicInteger callsA = new AtomicInteger();
    AtomicInteger callsB = new AtomicInteger();
    AtomicBoolean aUp = new AtomicBoolean();
    // libpq order: a first; when a fails, b
    Function<ConnectRun, CompletionStage<String>> twoHosts =
        run ->
            run.visit(
                    "a:5432",
                    () -> {
                      callsA.incrementAndGet();
                      return aUp.get()
                          ? CompletableFuture.completedFuture("a")
                          : CompletableFuture.<String>failedFuture(refused());
                    })
                .handle(
                    (v, e) ->
                        e == null
                            ? CompletableFuture.completedFuture(v)
                            : run.visit(
                                "b:5432",
                                () -> {
                                  callsB.incrementAndGet();
                                  return CompletableFuture.completedFuture("b");
                                }))
                .thenCompose(x -> x);
    for (int i = 0; i < ConnectGuard.FAILURES_TO_OPEN; i++) {
      assertThat(outcome(g.connect(twoHosts, scheduler))).isEqualTo("b");
    }
    assertThat(callsA.get()).isEqualTo(ConnectGuard.FAILURES_TO_OPEN);
    assertThat(g.state()).isEqualTo("PARTLY_OPEN");
    assertThat(g.circuits()).extracting(HostCircuit::state).containsExactly("OPEN", "CLOSED");
    assertThat(g.circuits().get(0).lastFailure()).contains("Connection refused");
    assertThat(g.refusalIfOpen()).as("b still serves").isNull();
    assertThat(changes).containsExactly("a:5432 CLOSED -> OPEN");

    // while a's circuit is open, connects go straight to b
    for (int i = 0; i < 5; i++) {
      assertThat(outcome(g.connect(twoHosts, scheduler))).isEqualTo("b");
    }
    assertThat(callsA.get()).isEqualTo(ConnectGuard.FAILURES_TO_OPEN);

    // a comes back: after the open period its probe succeeds and a serves again
    aUp.set(true);
    long deadline = System.nanoTime() + 5_000_000_000L;
    while (!outcome(g.connect(twoHosts, scheduler)).equals("a")) {
      assertThat(System.nanoTime()).as("a probed again").isLessThan(deadline);
    }
    assertThat(g.state()).isEqualTo("CLOSED");
    assertThat(changes)
        .containsExactly(
            "a:5432 CLOSED -> OPEN", "a:5432 OPEN -> HALF_OPEN", "a:5432 HALF_OPEN -> CLOSED");
    assertThat(g.opened()).isEqualTo(1);
  }

  @Test
  void retriesThatEndInSuccessCountNothingAgainstTheHost() throws Exception {
    ConnectGuard g = new ConnectGuard(List.of("db:5432"), 4, (h, c) -> transitions.add(c));
    for (int i = 0; i < 2 * ConnectGuard.FAILURES_TO_OPEN; i++) {
      AtomicInteger calls = new AtomicInteger();
      assertThat(outcome(g.connect(oneHost(failing(3, refused(), calls)), scheduler)))
          .isEqualTo("conn");
    }
    assertThat(g.state()).isEqualTo("CLOSED");
    assertThat(transitions).isEmpty();
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
