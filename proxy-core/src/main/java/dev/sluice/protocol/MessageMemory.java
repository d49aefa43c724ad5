package dev.sluice.protocol;

import java.util.ArrayDeque;
import java.util.Iterator;

/**
 * A process-wide budget for the bytes clients' incomplete messages hold while they arrive. A
 * per-message limit cannot protect the process when many clients send large messages at once; this
 * can. A decoder that finds a large message only partly received reserves the message's whole
 * length here before buffering the rest; if that does not fit, its client is not read until it does
 * (reservations are granted first come, first served). Because a reservation covers a whole
 * message, every client that holds one can finish its message, so waiting never deadlocks; a
 * message larger than the whole budget is let in when nothing else is reserved.
 *
 * <p>Thread-safe. Grant callbacks run on the thread that released memory; they must only hand off
 * to the waiting connection's own thread.
 */
public final class MessageMemory {
  private final long limit;
  private final ArrayDeque<Waiter> waiters = new ArrayDeque<>();
  private long reserved;
  private long peak;

  /** A reservation not granted yet; {@link #cancel} it if its connection goes away first. */
  public static final class Waiter {
    private final long bytes;
    private final Runnable granted;
    private boolean done;

    private Waiter(long bytes, Runnable granted) {
      this.bytes = bytes;
      this.granted = granted;
    }
  }

  public MessageMemory(long limit) {
    if (limit <= 0) {
      throw new IllegalArgumentException("limit must be positive: " + limit);
    }
    this.limit = limit;
  }

  /** No limit worth the name: for connections whose peer Sluice trusts (backends), and tests. */
  public static MessageMemory unlimited() {
    return new MessageMemory(Long.MAX_VALUE);
  }

  public long limit() {
    return limit;
  }

  /** Reserves {@code bytes} now if they fit and nobody queues before us. */
  public synchronized boolean tryReserve(long bytes) {
    if (!waiters.isEmpty() || !fits(bytes)) {
      return false;
    }
    take(bytes);
    return true;
  }

  /** Queues a reservation of {@code bytes}; {@code granted} runs once it is reserved. */
  public Waiter await(long bytes, Runnable granted) {
    Waiter w = new Waiter(bytes, granted);
    synchronized (this) {
      waiters.addLast(w);
    }
    grant();
    return w;
  }

  /** Withdraws a queued reservation; false if it was granted already (then release it). */
  public boolean cancel(Waiter w) {
    synchronized (this) {
      if (w.done) {
        return false;
      }
      w.done = true;
      waiters.remove(w);
    }
    grant();
    return true;
  }

  public void release(long bytes) {
    synchronized (this) {
      reserved -= bytes;
      if (reserved < 0) {
        throw new IllegalStateException("released more than was reserved");
      }
    }
    grant();
  }

  /** Bytes reserved now. */
  public synchronized long reserved() {
    return reserved;
  }

  /** The most ever reserved at once. */
  public synchronized long peak() {
    return peak;
  }

  /** Reservations waiting for memory. */
  public synchronized int waiting() {
    return waiters.size();
  }

  private boolean fits(long bytes) {
    return reserved == 0 || reserved + bytes <= limit;
  }

  private void take(long bytes) {
    reserved += bytes;
    peak = Math.max(peak, reserved);
  }

  private void grant() {
    while (true) {
      Waiter w;
      synchronized (this) {
        Iterator<Waiter> it = waiters.iterator();
        w = it.hasNext() ? it.next() : null;
        if (w == null || !fits(w.bytes)) {
          return;
        }
        it.remove();
        w.done = true;
        take(w.bytes);
      }
      w.granted.run();
    }
  }
}
