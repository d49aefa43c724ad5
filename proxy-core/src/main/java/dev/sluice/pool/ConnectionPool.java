package dev.sluice.pool;

import dev.sluice.error.SluiceException;
import dev.sluice.error.SqlState;
import dev.sluice.logging.LogThrottle;
import dev.sluice.pool.PoolMembers.Entry;
import dev.sluice.pool.PoolMembers.State;
import dev.sluice.pool.Waiters.Waiter;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * One pool of backend connections for one (database, user).
 *
 * <p>Every open connection the pool knows is in exactly one state, kept in {@link PoolMembers} and
 * changed only in its {@code moveTo}: {@code IDLE} (in the idle deque) or {@code ACTIVE} (handed to
 * a client). Connections being opened are counted in {@link Connects}, reserved under the monitor
 * before the connect starts, so {@code total = open + connecting} never exceeds {@code maxSize}.
 *
 * <p>Waiters queue FIFO ({@link Waiters}). A connection that becomes available (released, or newly
 * opened) goes to the head waiter; otherwise it is kept idle, most recently used first. An acquire
 * prefers an idle connection on the caller's event loop. The pool never blocks: state changes
 * happen under the pool's monitor, and callbacks run afterwards on each waiter's own executor.
 *
 * <p>The members, the waiters, the connects' counts and the pause hold no lock of their own: they
 * are guarded by this pool's one monitor, so the invariant above is kept here alone. Each operation
 * is a few lines of state change under it followed by callbacks outside it.
 */
public final class ConnectionPool<C extends PooledConnection> {
  /** A handle to stop waiting (the client left before it got a connection). */
  public interface Pending {
    void cancel();
  }

  private volatile PoolSettings settings;
  private final LongSupplier nanoClock;
  private final PoolMembers<C> members;
  private final Waiters<C> waiters = new Waiters<>();
  private final Connects<C> connects;
  private boolean closed;

  private final PoolPause pause = new PoolPause();

  /** Connections opened before the last {@link #reconnect} are closed instead of reused. */
  private long generation;

  public ConnectionPool(PoolSettings settings, Connector<C> connector, LongSupplier nanoClock) {
    this(settings, connector, nanoClock, new LogThrottle(10_000_000_000L, nanoClock));
  }

  /**
   * @param logThrottle sums up repeated connect failures (a database restart fails every connect of
   *     every pool for a while) instead of writing a line for each
   */
  public ConnectionPool(
      PoolSettings settings,
      Connector<C> connector,
      LongSupplier nanoClock,
      LogThrottle logThrottle) {
    this.settings = settings;
    this.nanoClock = nanoClock;
    this.members = new PoolMembers<>(nanoClock);
    this.connects = new Connects<>(connector, logThrottle);
  }

  public PoolSettings settings() {
    return settings;
  }

  /** The open connections, idle or handed out, at this moment. */
  public synchronized List<C> openConnections() {
    return members.all();
  }

  /** Whether {@link #pause} is in effect. */
  public synchronized boolean paused() {
    return pause.on();
  }

  public synchronized PoolStats stats() {
    int connecting = connects.inProgress();
    return new PoolStats(
        members.open() + connecting, members.active(), members.idle(), connecting, waiters.size());
  }

  /**
   * Asks for a connection. The callback runs on {@code executor} with a connection or a failure: a
   * {@link SluiceException} 53300 after the acquire timeout, or the connect failure when the pool
   * cannot open any connection at all.
   */
  public Pending acquire(
      Object affinity,
      Executor executor,
      ScheduledExecutorService timer,
      AcquireCallback<C> callback) {
    C ready = null;
    Waiter<C> w = null;
    synchronized (this) {
      if (!closed) {
        ready = pause.on() ? null : members.takeIdle(affinity);
        if (ready != null) {
          members.moveTo(ready, State.ACTIVE);
        } else {
          w = waiters.add(affinity, executor, callback, nanoClock.getAsLong());
        }
      }
    }
    if (ready != null) {
      C conn = ready;
      executor.execute(() -> callback.done(conn, null));
      return () -> {};
    }
    if (w == null) {
      executor.execute(
          () ->
              callback.done(
                  null, SluiceException.error(SqlState.ADMIN_SHUTDOWN, "sluice is shutting down")));
      return () -> {};
    }
    Waiter<C> waiter = w;
    ScheduledFuture<?> t =
        timer.schedule(
            () -> timeOut(waiter), settings.acquireTimeout().toMillis(), TimeUnit.MILLISECONDS);
    synchronized (this) {
      waiter.timeout = t;
      if (waiter.done) {
        t.cancel(false);
      }
    }
    fillWaiters();
    return () -> cancelWaiter(waiter);
  }

  /**
   * Gives a connection back. {@code reusable} false (or a closed or expired connection) closes it
   * instead of keeping it.
   */
  public void release(C conn, boolean reusable, String reason) {
    Waiter<C> handTo = null;
    String closeReason = null;
    synchronized (this) {
      Entry e = members.entry(conn);
      if (e == null || e.state != State.ACTIVE) {
        return;
      }
      if (!reusable || closed || !conn.isOpen()) {
        closeReason = reason;
      } else if (nanoClock.getAsLong() - e.expiresNanos >= 0) {
        closeReason = "lifetime reached";
      } else if (pause.on()) {
        closeReason = "pool paused";
      } else if (e.generation != generation) {
        closeReason = "reconnect requested";
      } else if (members.open() > settings.maxSize()) {
        closeReason = "pool size reduced";
      }
      if (closeReason != null) {
        members.forget(conn);
      } else {
        handTo = waiters.next();
        if (handTo == null) {
          members.moveTo(conn, State.IDLE);
        }
      }
    }
    if (closeReason != null) {
      conn.close(closeReason);
      fillWaiters();
    } else if (handTo != null) {
      handTo.deliver(conn);
    }
    completeQuietWaiters();
  }

  /** The connection closed by itself (server gone, network error): forget it. */
  public void closed(C conn) {
    boolean known;
    synchronized (this) {
      known = members.contains(conn);
      members.forget(conn);
    }
    if (known) {
      fillWaiters();
    }
    completeQuietWaiters();
  }

  /**
   * Periodic upkeep: closes idle connections past their lifetime, and beyond {@code minIdle} those
   * idle too long; opens connections up to {@code minIdle} idle; retries for waiters.
   */
  public void maintain() {
    List<C> toClose;
    synchronized (this) {
      toClose = members.forgetStale(nanoClock.getAsLong(), settings.minIdle());
    }
    toClose.forEach(c -> c.close("idle timeout or lifetime reached"));
    fillWaiters();
    ensureMinIdle();
    connects.flushReports();
  }

  /** Opens connections until {@code minIdle} are idle or being opened (never beyond max). */
  public void ensureMinIdle() {
    int n;
    synchronized (this) {
      if (closed || pause.on()) {
        return;
      }
      long now = nanoClock.getAsLong();
      n = connects.reserveForMinIdle(now, settings, waiters.size(), members.idle(), members.open());
    }
    for (int i = 0; i < n; i++) {
      connects.start(null, this::connected, this::connectFailed);
    }
  }

  /**
   * PgBouncer's PAUSE: hands nothing out and opens nothing; closes idle connections now and each
   * handed-out one when it comes back, so the database can be restarted or moved underneath.
   * Clients that ask meanwhile wait (their acquire timeout still runs). The future completes when
   * no connection is handed out any more; {@link #resume} completes it too, exceptionally.
   */
  public CompletableFuture<Void> pause() {
    CompletableFuture<Void> quiet;
    List<C> toClose;
    synchronized (this) {
      quiet = pause.begin();
      toClose = members.forgetIdle();
    }
    toClose.forEach(c -> c.close("pool paused"));
    completeQuietWaiters();
    return quiet;
  }

  /** Ends a {@link #pause}: the waiting clients are served and warm connections reopened. */
  public void resume() {
    List<CompletableFuture<Void>> unfinished;
    synchronized (this) {
      unfinished = pause.end();
    }
    if (unfinished == null) {
      return;
    }
    unfinished.forEach(
        f -> f.completeExceptionally(new IllegalStateException("resumed before quiet")));
    fillWaiters();
    ensureMinIdle();
  }

  /**
   * PgBouncer's RECONNECT: every connection open now is closed, idle ones at once and handed-out
   * ones when they come back, and new ones are opened as needed. Nobody waits for it.
   */
  public void reconnect() {
    List<C> toClose;
    synchronized (this) {
      generation++;
      toClose = members.forgetIdle();
    }
    toClose.forEach(c -> c.close("reconnect requested"));
    fillWaiters();
    ensureMinIdle();
  }

  /**
   * New limits from a reload. A smaller size closes idle connections above it now and handed-out
   * ones as they come back; a larger one serves waiters at once. Connections keep the lifetime they
   * were given when they opened.
   */
  public void updateSettings(PoolSettings next) {
    List<C> toClose;
    synchronized (this) {
      settings = next;
      toClose = members.forgetIdleAbove(next.maxSize() - connects.inProgress());
    }
    toClose.forEach(c -> c.close("pool size reduced"));
    fillWaiters();
    ensureMinIdle();
  }

  private void completeQuietWaiters() {
    List<CompletableFuture<Void>> done;
    synchronized (this) {
      done = pause.takeIfQuiet(members.active());
    }
    done.forEach(f -> f.complete(null));
  }

  /** Stops handing out connections, fails the waiters and closes idle connections. */
  public void close() {
    List<C> toClose;
    List<Waiter<C>> failed;
    synchronized (this) {
      closed = true;
      toClose = members.forgetIdle();
      failed = waiters.drain();
    }
    toClose.forEach(c -> c.close("shutting down"));
    SluiceException e = SluiceException.fatal(SqlState.ADMIN_SHUTDOWN, "sluice is shutting down");
    failed.forEach(w -> w.fail(e));
  }

  // ---- connects, timeouts and cancels ----

  /** Starts as many connects as there are waiters not yet covered, within {@code maxSize}. */
  private void fillWaiters() {
    List<Object> affinities;
    synchronized (this) {
      if (closed || pause.on()) {
        return;
      }
      int n = connects.reserveForWaiters(waiters.size(), members.open(), settings.maxSize());
      affinities = waiters.lastAffinities(n);
    }
    affinities.forEach(a -> connects.start(a, this::connected, this::connectFailed));
  }

  private void connected(C conn) {
    Waiter<C> handTo = null;
    String closeReason = null;
    synchronized (this) {
      connects.succeeded();
      if (closed || pause.on() || !conn.isOpen()) {
        closeReason = closed ? "shutting down" : pause.on() ? "pool paused" : "closed during login";
      } else {
        members.addActive(conn, Entry.jittered(nanoClock.getAsLong(), settings, generation));
        handTo = waiters.next();
        if (handTo == null) {
          members.moveTo(conn, State.IDLE);
        }
      }
    }
    if (closeReason != null) {
      conn.close(closeReason);
      // The waiter this connect was for still waits: start another for it.
      fillWaiters();
    } else if (handTo != null) {
      handTo.deliver(conn);
    }
  }

  private void connectFailed(Throwable failure) {
    List<Waiter<C>> failAll = List.of();
    synchronized (this) {
      connects.failed(failure, nanoClock.getAsLong());
      if (members.open() == 0 && connects.inProgress() == 0 && !pause.on()) {
        // Nothing live can serve the waiters: fail them now with the real reason rather than
        // after the acquire timeout (a wrong database name or a down server will not heal in
        // the next few seconds, and the client deserves the server's own error).
        failAll = waiters.drain();
      }
    }
    Throwable cause = PoolErrors.unwrap(failure);
    connects.report(settings.name(), cause);
    failAll.forEach(w -> w.fail(cause));
  }

  private void timeOut(Waiter<C> w) {
    PoolStats s;
    Throwable last;
    boolean wasPaused;
    synchronized (this) {
      if (!waiters.withdraw(w)) {
        return;
      }
      s = stats();
      last = connects.lastFailure();
      wasPaused = pause.on();
    }
    w.fail(PoolErrors.acquireTimedOut(settings, s, last, wasPaused));
  }

  private synchronized void cancelWaiter(Waiter<C> w) {
    if (waiters.withdraw(w) && w.timeout != null) {
      w.timeout.cancel(false);
    }
  }
}
