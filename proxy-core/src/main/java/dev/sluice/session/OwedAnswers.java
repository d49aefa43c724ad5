package dev.sluice.session;

/**
 * The requests of one client that still owe it a ReadyForQuery: each simple Query, FunctionCall and
 * Sync (outside COPY IN) gets exactly one, whoever answers it (the backend, or Sluice itself). A
 * client session that owes nothing may be idle; one that owes something must be making progress, so
 * the time since the last answer while something is owed tells a stalled client from a busy one.
 *
 * <p>Not thread-safe: used on the client's event loop only.
 */
public final class OwedAnswers {
  private int owed;
  private long progressNanos;

  /** A request that will be answered with a ReadyForQuery arrived at {@code now}. */
  public void requested(long now) {
    if (owed++ == 0) {
      progressNanos = now;
    }
  }

  /** A ReadyForQuery went to the client at {@code now}. */
  public void answered(long now) {
    if (owed > 0) {
      owed--;
    }
    progressNanos = now;
  }

  /** How many requests are still unanswered. */
  public int owed() {
    return owed;
  }

  /** Nanoseconds since the last progress while something is owed, or 0 when nothing is. */
  public long stalledNanos(long now) {
    return owed == 0 ? 0 : now - progressNanos;
  }

  /** Nanoseconds since the last answer while nothing is owed (the client is idle), else 0. */
  public long idleNanos(long now) {
    return owed == 0 ? now - progressNanos : 0;
  }

  /** The client is gone: nothing is owed to anyone any more. */
  public void clear() {
    owed = 0;
  }
}
