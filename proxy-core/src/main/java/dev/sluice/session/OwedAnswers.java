package dev.sluice.session;

/**
 * The requests of one client that still owe it a ReadyForQuery: each simple Query, FunctionCall and
 * Sync (outside COPY IN) gets exactly one, whoever answers it (the backend, or Sluice itself). A
 * client session that owes nothing may be idle; one that owes something must be making progress, so
 * the time since the last answer while something is owed tells a stalled client from a busy one.
 * The arrival time of each owed request is kept, oldest first, so that an answer can say how long
 * its request took (ReadyForQuery answers requests in the order they came).
 *
 * <p>Not thread-safe: used on the client's event loop only.
 */
public final class OwedAnswers {
  private int owed;
  private long progressNanos;

  /**
   * Arrival times of the owed requests: a ring of {@code owed} entries starting at {@code head}.
   */
  private long[] arrivals = new long[4];

  private int head;

  /** A request that will be answered with a ReadyForQuery arrived at {@code now}. */
  public void requested(long now) {
    if (owed == arrivals.length) {
      long[] bigger = new long[owed * 2];
      for (int i = 0; i < owed; i++) {
        bigger[i] = arrivals[(head + i) % owed];
      }
      arrivals = bigger;
      head = 0;
    }
    arrivals[(head + owed) % arrivals.length] = now;
    if (owed++ == 0) {
      progressNanos = now;
    }
  }

  /**
   * A ReadyForQuery went to the client at {@code now}: returns the nanoseconds since the oldest
   * owed request arrived, or -1 when nothing was owed.
   */
  public long answered(long now) {
    progressNanos = now;
    if (owed == 0) {
      return -1;
    }
    long took = now - arrivals[head];
    head = (head + 1) % arrivals.length;
    owed--;
    return took;
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
    head = 0;
  }
}
