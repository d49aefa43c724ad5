package dev.sluice.pool;

import dev.sluice.error.SafeErrors;
import dev.sluice.logging.LogThrottle;
import java.util.concurrent.CompletionStage;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

/**
 * The connects of one {@link ConnectionPool}: how many are in progress and how many more may start,
 * starting them, and what the last ones came to (the last failure since a success, named in an
 * acquire timeout's error, and the warm-up backoff). A slot is reserved here before its connect
 * starts and given back when it ends, so {@code open + inProgress ≤ maxSize} holds at every moment.
 *
 * <p>The counts are not thread-safe: the pool reserves and settles slots under its monitor, with
 * the open count of that moment. {@link #start} and {@link #report} run outside it.
 */
final class Connects<C extends PooledConnection> {
  // The pool's own logger: operators know connect failures under its name.
  private static final Logger log = LoggerFactory.getLogger(ConnectionPool.class);

  private final Connector<C> connector;
  private final LogThrottle logThrottle;
  private final WarmUpBackoff warmUp = new WarmUpBackoff();
  private int inProgress;
  private Throwable lastFailure;

  Connects(Connector<C> connector, LogThrottle logThrottle) {
    this.connector = connector;
    this.logThrottle = logThrottle;
  }

  int inProgress() {
    return inProgress;
  }

  /** Reserves a slot for each waiter not yet covered by a connect, within {@code maxSize}. */
  int reserveForWaiters(int waiting, int open, int maxSize) {
    int n = Math.max(0, Math.min(waiting - inProgress, maxSize - open - inProgress));
    inProgress += n;
    return n;
  }

  /**
   * Reserves slots so that {@code minIdle} connections are idle or being opened beyond those the
   * waiters need, within {@code maxSize}; none while warm-ups back off after failures.
   */
  int reserveForMinIdle(long now, PoolSettings settings, int waiting, int idle, int open) {
    if (warmUp.waiting(now)) {
      return 0;
    }
    int want = settings.minIdle() + waiting - idle - inProgress;
    int n = Math.max(0, Math.min(want, settings.maxSize() - open - inProgress));
    inProgress += n;
    return n;
  }

  /**
   * Opens one connection; its slot was reserved. The outcome goes to {@code opened} or {@code
   * failed}, on whichever thread the connector completes it (at once if the connector throws).
   */
  void start(Object affinity, Consumer<C> opened, Consumer<Throwable> failed) {
    CompletionStage<C> f;
    try {
      f = connector.connect(affinity);
    } catch (RuntimeException e) {
      failed.accept(e);
      return;
    }
    f.whenComplete(
        (conn, failure) -> {
          if (failure != null || conn == null) {
            failed.accept(failure);
          } else {
            opened.accept(conn);
          }
        });
  }

  /** A connect succeeded: its slot is given back and the backoff reset. */
  void succeeded() {
    inProgress--;
    lastFailure = null;
    warmUp.succeeded();
  }

  /** A connect failed: its slot is given back, the failure kept and the backoff grown. */
  void failed(Throwable failure, long now) {
    inProgress--;
    lastFailure = failure;
    warmUp.failed(now);
  }

  /** The last connect failure since a success, out of its wrappers; null if none. */
  Throwable lastFailure() {
    return lastFailure == null ? null : PoolErrors.unwrap(lastFailure);
  }

  /** Logs a failed connect, repeats summed up by the throttle. Thread-safe. */
  void report(String poolName, Throwable cause) {
    String event = "pool " + poolName + ": backend connect failed";
    if (logThrottle.admit(event, log, Level.WARN)) {
      log.warn("{}: {}", event, SafeErrors.describe(cause));
    }
  }

  /** Ends the throttle's windows that are due (their summaries written). Thread-safe. */
  void flushReports() {
    logThrottle.flush();
  }
}
