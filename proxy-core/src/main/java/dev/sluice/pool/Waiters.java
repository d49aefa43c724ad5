package dev.sluice.pool;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledFuture;

/**
 * The clients waiting for a connection of one {@link ConnectionPool}, first come first served. A
 * waiter is {@code done} once it was taken from the queue (to be served or failed), timed out or
 * cancelled, whichever came first; the others then do nothing.
 *
 * <p>Not thread-safe: the pool calls it under its monitor. The callbacks run outside it, on each
 * waiter's own executor ({@link Waiter#deliver}, {@link Waiter#fail}).
 */
final class Waiters<C> {

  /** One client's acquire. */
  static final class Waiter<C> {
    final Object affinity;
    final Executor executor;
    final AcquireCallback<C> callback;
    final long enqueuedNanos;
    ScheduledFuture<?> timeout;
    boolean done;

    Waiter(Object affinity, Executor executor, AcquireCallback<C> callback, long now) {
      this.affinity = affinity;
      this.executor = executor;
      this.callback = callback;
      this.enqueuedNanos = now;
    }

    void deliver(C conn) {
      executor.execute(() -> callback.done(conn, null));
    }

    void fail(Throwable failure) {
      executor.execute(() -> callback.done(null, failure));
    }
  }

  private final ArrayDeque<Waiter<C>> queue = new ArrayDeque<>();

  /** Queues a new waiter at the tail. */
  Waiter<C> add(Object affinity, Executor executor, AcquireCallback<C> callback, long now) {
    Waiter<C> w = new Waiter<>(affinity, executor, callback, now);
    queue.addLast(w);
    return w;
  }

  int size() {
    return queue.size();
  }

  /** The head waiter not yet done, now marked done and its timeout cancelled; null if none. */
  Waiter<C> next() {
    Waiter<C> w;
    while ((w = queue.pollFirst()) != null) {
      if (!w.done) {
        w.done = true;
        if (w.timeout != null) {
          w.timeout.cancel(false);
        }
        return w;
      }
    }
    return null;
  }

  /** Every waiter not yet done, in order, each as {@link #next} returns it. */
  List<Waiter<C>> drain() {
    List<Waiter<C>> all = new ArrayList<>();
    Waiter<C> w;
    while ((w = next()) != null) {
      all.add(w);
    }
    return all;
  }

  /**
   * Takes {@code w} out of the queue (it timed out, or its client left); false if it was done
   * already. Its timeout is left to the caller.
   */
  boolean withdraw(Waiter<C> w) {
    if (w.done) {
      return false;
    }
    w.done = true;
    queue.remove(w);
    return true;
  }

  /** The affinities of up to {@code n} waiters, from the tail. */
  List<Object> lastAffinities(int n) {
    List<Object> affinities = new ArrayList<>();
    Iterator<Waiter<C>> it = queue.descendingIterator();
    for (int i = 0; i < n && it.hasNext(); i++) {
      affinities.add(it.next().affinity);
    }
    return affinities;
  }
}
