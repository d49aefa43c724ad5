package dev.sluice.resilience;

import dev.sluice.error.SafeErrors;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;

/**
 * One guarded connect, retries included, as its hosts see it. Each host it visits takes its
 * circuit's permission once and hears one outcome when the connect ends: the host's last result in
 * this run. So a host counts one failure per connect that gave up on it, however many times the
 * connect retried it: a database restart that retries absorb does not open its circuit, while a
 * dead host in a list is skipped after a few connects that had to move past it.
 *
 * <p>Thread-safe.
 */
public final class ConnectRun {
  private static final Object PERMITTED = new Object();
  private static final Object SUCCEEDED = new Object();

  private final ConnectGuard guard;
  private final long start = System.nanoTime();

  /** Per host visited: PERMITTED (no result yet), SUCCEEDED, or the failure. */
  private final Map<HostCircuit, Object> outcomes = new LinkedHashMap<>();

  private boolean finished;

  ConnectRun(ConnectGuard guard) {
    this.guard = guard;
  }

  /**
   * Runs {@code attempt} against {@code host}, or fails at once with {@link CircuitOpenException}
   * while the host's circuit is open.
   */
  public <C> CompletionStage<C> visit(String host, Supplier<CompletionStage<C>> attempt) {
    HostCircuit c = guard.circuit(host);
    if (!permit(c)) {
      return CompletableFuture.failedFuture(c.refusal());
    }
    c.attempts.increment();
    CompletionStage<C> s;
    try {
      s = attempt.get();
    } catch (RuntimeException e) {
      s = CompletableFuture.failedFuture(e);
    }
    return s.whenComplete((v, e) -> record(c, e));
  }

  private synchronized boolean permit(HostCircuit c) {
    if (finished) {
      return false;
    }
    if (outcomes.containsKey(c)) {
      return true; // taken by an earlier visit of this run
    }
    if (!c.tryAcquire()) {
      return false;
    }
    outcomes.put(c, PERMITTED);
    return true;
  }

  private synchronized void record(HostCircuit c, Throwable e) {
    if (!finished) {
      outcomes.put(c, e == null ? SUCCEEDED : ConnectFailures.unwrap(e));
    }
  }

  /**
   * Tells each visited host its outcome. A host still being tried when the connect gave up (its
   * attempt outlived the connect's deadline) shares the connect's failure.
   */
  synchronized void finish(Throwable failure) {
    if (finished) {
      return;
    }
    finished = true;
    long took = System.nanoTime() - start;
    for (Map.Entry<HostCircuit, Object> e : outcomes.entrySet()) {
      HostCircuit c = e.getKey();
      Object o = e.getValue();
      if (o == SUCCEEDED) {
        c.succeeded(took);
      } else if ((o == PERMITTED && failure == null) || o instanceof CancellationException) {
        c.release();
      } else {
        Throwable t = o == PERMITTED ? ConnectFailures.unwrap(failure) : (Throwable) o;
        String described = SafeErrors.describe(t);
        c.failed(took, t, described);
        if (ConnectFailures.isTransient(t)) {
          guard.noteFailure(c.host() + ": " + described);
        }
      }
    }
  }
}
