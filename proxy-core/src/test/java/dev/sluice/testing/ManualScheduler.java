package dev.sluice.testing;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.Callable;
import java.util.concurrent.Delayed;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.FutureTask;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * A clock and a scheduler that move only when a test says so, for code that takes an injected nano
 * clock ({@link #nanoTime()} as a {@code LongSupplier}) and a {@link ScheduledExecutorService}.
 *
 * <p>Nothing runs on its own: {@link #advance(Duration)} moves the clock and runs, on the calling
 * thread and in due order, every task whose time has come, with the clock reading that task's due
 * time while it runs; a task that throws makes {@code advance} throw it. {@link #execute(Runnable)}
 * queues a task due now, run by the next {@code advance} (with {@link Duration#ZERO}, say).
 * Repeating schedules are not supported.
 */
public final class ManualScheduler extends AbstractExecutorService
    implements ScheduledExecutorService {
  private final PriorityQueue<Task<?>> queue = new PriorityQueue<>();
  private long now;
  private long sequence;
  private boolean shutdown;

  /** {@code startNanos} is the first reading of the clock; any value, as with System.nanoTime. */
  public ManualScheduler(long startNanos) {
    this.now = startNanos;
  }

  /** The current time; use {@code scheduler::nanoTime} as an injected nano clock. */
  public synchronized long nanoTime() {
    return now;
  }

  /** Moves the clock forward by {@code step}, running the tasks that fall due on the way. */
  public void advance(Duration step) {
    if (step.isNegative()) {
      throw new IllegalArgumentException("time only moves forward, not by " + step);
    }
    long target;
    synchronized (this) {
      target = now + step.toNanos();
    }
    while (true) {
      Task<?> next;
      synchronized (this) {
        next = queue.peek();
        if (next == null || next.dueNanos - target > 0) {
          now = target;
          return;
        }
        queue.poll();
        now = next.dueNanos;
      }
      // outside the monitor: a task may schedule or cancel others
      next.run();
      next.rethrowFailure();
    }
  }

  /** Tasks scheduled and neither run nor cancelled yet. */
  public synchronized int pendingTasks() {
    return queue.size();
  }

  @Override
  public ScheduledFuture<?> schedule(Runnable command, long delay, TimeUnit unit) {
    return enqueue(Executors.callable(command, null), delay, unit);
  }

  @Override
  public <V> ScheduledFuture<V> schedule(Callable<V> callable, long delay, TimeUnit unit) {
    return enqueue(callable, delay, unit);
  }

  @Override
  public ScheduledFuture<?> scheduleAtFixedRate(
      Runnable command, long initialDelay, long period, TimeUnit unit) {
    throw new UnsupportedOperationException("repeating schedules are not supported");
  }

  @Override
  public ScheduledFuture<?> scheduleWithFixedDelay(
      Runnable command, long initialDelay, long delay, TimeUnit unit) {
    throw new UnsupportedOperationException("repeating schedules are not supported");
  }

  @Override
  public void execute(Runnable command) {
    schedule(command, 0, TimeUnit.NANOSECONDS);
  }

  @Override
  public synchronized void shutdown() {
    shutdown = true;
  }

  @Override
  public synchronized List<Runnable> shutdownNow() {
    shutdown = true;
    List<Runnable> never = new ArrayList<>(queue);
    queue.clear();
    return never;
  }

  @Override
  public synchronized boolean isShutdown() {
    return shutdown;
  }

  @Override
  public synchronized boolean isTerminated() {
    return shutdown && queue.isEmpty();
  }

  @Override
  public boolean awaitTermination(long timeout, TimeUnit unit) {
    return isTerminated();
  }

  private synchronized <V> Task<V> enqueue(Callable<V> callable, long delay, TimeUnit unit) {
    if (shutdown) {
      throw new RejectedExecutionException("the scheduler is shut down");
    }
    Task<V> task = new Task<>(callable, now + Math.max(0, unit.toNanos(delay)), sequence++);
    queue.add(task);
    return task;
  }

  private synchronized void forget(Task<?> task) {
    queue.remove(task);
  }

  private final class Task<V> extends FutureTask<V> implements ScheduledFuture<V> {
    final long dueNanos;
    final long seq;

    Task(Callable<V> callable, long dueNanos, long seq) {
      super(callable);
      this.dueNanos = dueNanos;
      this.seq = seq;
    }

    @Override
    public long getDelay(TimeUnit unit) {
      return unit.convert(dueNanos - nanoTime(), TimeUnit.NANOSECONDS);
    }

    @Override
    public int compareTo(Delayed other) {
      if (other instanceof ManualScheduler.Task<?> t) {
        int byDue = Long.compare(dueNanos - t.dueNanos, 0);
        return byDue != 0 ? byDue : Long.compare(seq, t.seq);
      }
      return Long.compare(getDelay(TimeUnit.NANOSECONDS), other.getDelay(TimeUnit.NANOSECONDS));
    }

    /** A task's failure (a failed assertion in a callback, say) fails the test's advance. */
    void rethrowFailure() {
      if (isCancelled()) {
        return;
      }
      try {
        get();
      } catch (ExecutionException e) {
        Throwable cause = e.getCause();
        if (cause instanceof RuntimeException r) {
          throw r;
        }
        if (cause instanceof Error err) {
          throw err;
        }
        throw new IllegalStateException("a scheduled task failed", cause);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while reading a finished task", e);
      }
    }

    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
      boolean cancelled = super.cancel(mayInterruptIfRunning);
      if (cancelled) {
        forget(this);
      }
      return cancelled;
    }
  }
}
