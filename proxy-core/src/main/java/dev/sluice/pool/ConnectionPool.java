package dev.sluice.pool;

import dev.sluice.error.SafeErrors;
import dev.sluice.error.SluiceException;
import dev.sluice.error.SqlState;
import dev.sluice.logging.LogThrottle;
import dev.sluice.protocol.Severity;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

/**
 * One pool of backend connections for one (database, user).
 *
 * <p>Every open connection the pool knows is in exactly one state, kept in one map and changed only
 * in {@link #moveTo}: {@code IDLE} (in the idle deque) or {@code ACTIVE} (handed to a client).
 * Connections being opened are counted in {@code connecting}, reserved under the monitor before the
 * connect starts, so {@code total = open + connecting} never exceeds {@code maxSize}.
 *
 * <p>Waiters queue FIFO. A connection that becomes available (released, or newly opened) goes to
 * the head waiter; otherwise it is kept idle, most recently used first. An acquire prefers an idle
 * connection on the caller's event loop. The pool never blocks: state changes happen under the
 * pool's monitor, and callbacks run afterwards on each waiter's own executor.
 *
 * <p>It stays one class past the project's usual size on purpose: every field is guarded by the one
 * monitor, and each operation is a few lines of state change under it followed by callbacks outside
 * it. Split into classes, the lock and the invariant {@code total = open + connecting ≤ maxSize}
 * would have to be shared among them.
 */
public final class ConnectionPool<C extends PooledConnection> {
  private static final Logger log = LoggerFactory.getLogger(ConnectionPool.class);

  private enum State {
    IDLE,
    ACTIVE
  }

  private static final class Entry {
    final long createdNanos;
    final long expiresNanos;
    final long idleLimitNanos;
    final long generation;
    State state = State.ACTIVE;
    long idleSinceNanos;

    Entry(long created, long lifetime, long idleLimit, long generation) {
      this.createdNanos = created;
      this.expiresNanos = created + lifetime;
      this.idleLimitNanos = idleLimit;
      this.generation = generation;
    }
  }

  private final class Waiter {
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
  }

  /** A handle to stop waiting (the client left before it got a connection). */
  public interface Pending {
    void cancel();
  }

  private volatile PoolSettings settings;
  private final Connector<C> connector;
  private final LongSupplier nanoClock;
  private final Map<C, Entry> entries = new HashMap<>();
  private final ArrayDeque<C> idle = new ArrayDeque<>();
  private final ArrayDeque<Waiter> waiters = new ArrayDeque<>();
  private int connecting;
  private int active;
  private Throwable lastConnectFailure;
  private boolean closed;

  /** Paused: nothing is handed out or opened, and released connections are closed. */
  private boolean paused;

  /** Futures of {@link #pause} callers, completed once no connection is handed out. */
  private final List<CompletableFuture<Void>> quietWaiters = new ArrayList<>();

  /** Connections opened before the last {@link #reconnect} are closed instead of reused. */
  private long generation;

  private final WarmUpBackoff warmUp = new WarmUpBackoff();

  private final LogThrottle logThrottle;

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
    this.connector = connector;
    this.nanoClock = nanoClock;
    this.logThrottle = logThrottle;
  }

  public PoolSettings settings() {
    return settings;
  }

  /** The open connections, idle or handed out, at this moment. */
  public synchronized List<C> openConnections() {
    return List.copyOf(entries.keySet());
  }

  /** Whether {@link #pause} is in effect. */
  public synchronized boolean paused() {
    return paused;
  }

  public synchronized PoolStats stats() {
    return new PoolStats(
        entries.size() + connecting, active, idle.size(), connecting, waiters.size());
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
    Waiter w = null;
    synchronized (this) {
      if (!closed) {
        ready = paused ? null : takeIdle(affinity);
        if (ready != null) {
          moveTo(ready, State.ACTIVE);
        } else {
          w = new Waiter(affinity, executor, callback, nanoClock.getAsLong());
          waiters.addLast(w);
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
    Waiter waiter = w;
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
    Waiter handTo = null;
    String closeReason = null;
    synchronized (this) {
      Entry e = entries.get(conn);
      if (e == null || e.state != State.ACTIVE) {
        return;
      }
      if (!reusable || closed || !conn.isOpen()) {
        closeReason = reason;
      } else if (nanoClock.getAsLong() - e.expiresNanos >= 0) {
        closeReason = "lifetime reached";
      } else if (paused) {
        closeReason = "pool paused";
      } else if (e.generation != generation) {
        closeReason = "reconnect requested";
      } else if (entries.size() > settings.maxSize()) {
        closeReason = "pool size reduced";
      }
      if (closeReason != null) {
        forget(conn);
      } else {
        handTo = nextWaiter();
        if (handTo == null) {
          moveTo(conn, State.IDLE);
        }
      }
    }
    if (closeReason != null) {
      conn.close(closeReason);
      fillWaiters();
    } else if (handTo != null) {
      deliver(handTo, conn);
    }
    completeQuietWaiters();
  }

  /** The connection closed by itself (server gone, network error): forget it. */
  public void closed(C conn) {
    boolean known;
    synchronized (this) {
      known = entries.containsKey(conn);
      forget(conn);
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
    List<C> toClose = new ArrayList<>();
    synchronized (this) {
      long now = nanoClock.getAsLong();
      // Oldest-idle first, so the ones kept are the most recently used.
      Iterator<C> it = idle.descendingIterator();
      while (it.hasNext()) {
        C c = it.next();
        Entry e = entries.get(c);
        boolean expired = now - e.expiresNanos >= 0;
        boolean idleTooLong =
            idle.size() - toClose.size() > settings.minIdle()
                && now - e.idleSinceNanos - e.idleLimitNanos >= 0;
        if (expired || idleTooLong || !c.isOpen()) {
          toClose.add(c);
        }
      }
      toClose.forEach(this::forget);
    }
    toClose.forEach(c -> c.close("idle timeout or lifetime reached"));
    fillWaiters();
    ensureMinIdle();
    logThrottle.flush();
  }

  /** Opens connections until {@code minIdle} are idle or being opened (never beyond max). */
  public void ensureMinIdle() {
    int n;
    synchronized (this) {
      if (closed || paused || warmUp.waiting(nanoClock.getAsLong())) {
        return;
      }
      int want = settings.minIdle() + waiters.size() - idle.size() - connecting;
      n = Math.max(0, Math.min(want, settings.maxSize() - entries.size() - connecting));
      connecting += n;
    }
    for (int i = 0; i < n; i++) {
      startConnect(null);
    }
  }

  /**
   * PgBouncer's PAUSE: hands nothing out and opens nothing; closes idle connections now and each
   * handed-out one when it comes back, so the database can be restarted or moved underneath.
   * Clients that ask meanwhile wait (their acquire timeout still runs). The future completes when
   * no connection is handed out any more; {@link #resume} completes it too, exceptionally.
   */
  public CompletableFuture<Void> pause() {
    CompletableFuture<Void> quiet = new CompletableFuture<>();
    List<C> toClose;
    synchronized (this) {
      paused = true;
      toClose = new ArrayList<>(idle);
      toClose.forEach(this::forget);
      quietWaiters.add(quiet);
    }
    toClose.forEach(c -> c.close("pool paused"));
    completeQuietWaiters();
    return quiet;
  }

  /** Ends a {@link #pause}: the waiting clients are served and warm connections reopened. */
  public void resume() {
    List<CompletableFuture<Void>> unfinished;
    synchronized (this) {
      if (!paused) {
        return;
      }
      paused = false;
      unfinished = new ArrayList<>(quietWaiters);
      quietWaiters.clear();
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
      toClose = new ArrayList<>(idle);
      toClose.forEach(this::forget);
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
    List<C> toClose = new ArrayList<>();
    synchronized (this) {
      settings = next;
      Iterator<C> it = idle.descendingIterator();
      while (it.hasNext() && entries.size() - toClose.size() + connecting > next.maxSize()) {
        toClose.add(it.next());
      }
      toClose.forEach(this::forget);
    }
    toClose.forEach(c -> c.close("pool size reduced"));
    fillWaiters();
    ensureMinIdle();
  }

  private void completeQuietWaiters() {
    List<CompletableFuture<Void>> done;
    synchronized (this) {
      if (!paused || active > 0 || quietWaiters.isEmpty()) {
        return;
      }
      done = new ArrayList<>(quietWaiters);
      quietWaiters.clear();
    }
    done.forEach(f -> f.complete(null));
  }

  /** Stops handing out connections, fails the waiters and closes idle connections. */
  public void close() {
    List<C> toClose;
    List<Waiter> failed = new ArrayList<>();
    synchronized (this) {
      closed = true;
      toClose = new ArrayList<>(idle);
      toClose.forEach(this::forget);
      Waiter w;
      while ((w = nextWaiter()) != null) {
        failed.add(w);
      }
    }
    toClose.forEach(c -> c.close("shutting down"));
    SluiceException e = SluiceException.fatal(SqlState.ADMIN_SHUTDOWN, "sluice is shutting down");
    failed.forEach(w -> fail(w, e));
  }

  // ---- internals: methods without their own monitor are called with it held ----

  private C takeIdle(Object affinity) {
    C pick = null;
    for (C c : idle) {
      if (!c.isOpen()) {
        continue;
      }
      if (c.affinity() == affinity) {
        pick = c;
        break;
      }
      if (pick == null) {
        pick = c;
      }
    }
    if (pick != null) {
      idle.remove(pick);
    }
    return pick;
  }

  /** The single place where an open connection's state and the counts change. */
  private void moveTo(C c, State to) {
    Entry e = entries.get(c);
    if (e.state == State.ACTIVE) {
      active--;
    } else {
      idle.remove(c);
    }
    e.state = to;
    if (to == State.ACTIVE) {
      active++;
    } else {
      e.idleSinceNanos = nanoClock.getAsLong();
      idle.addFirst(c);
    }
  }

  private void forget(C c) {
    Entry e = entries.remove(c);
    if (e == null) {
      return;
    }
    if (e.state == State.ACTIVE) {
      active--;
    } else {
      idle.remove(c);
    }
  }

  private Waiter nextWaiter() {
    Waiter w;
    while ((w = waiters.pollFirst()) != null) {
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

  /** Starts as many connects as there are waiters not yet covered, within {@code maxSize}. */
  private void fillWaiters() {
    List<Object> affinities = new ArrayList<>();
    synchronized (this) {
      if (closed || paused) {
        return;
      }
      int n =
          Math.min(waiters.size() - connecting, settings.maxSize() - entries.size() - connecting);
      Iterator<Waiter> it = waiters.descendingIterator();
      for (int i = 0; i < n && it.hasNext(); i++) {
        affinities.add(it.next().affinity);
      }
      connecting += affinities.size();
    }
    affinities.forEach(this::startConnect);
  }

  /** Opens one connection; its slot in {@code connecting} was reserved by the caller. */
  private void startConnect(Object affinity) {
    CompletionStage<C> f;
    try {
      f = connector.connect(affinity);
    } catch (RuntimeException e) {
      connectFailed(e);
      return;
    }
    f.whenComplete(
        (conn, failure) -> {
          if (failure != null || conn == null) {
            connectFailed(failure);
          } else {
            connected(conn);
          }
        });
  }

  private void connected(C conn) {
    Waiter handTo = null;
    boolean close;
    synchronized (this) {
      connecting--;
      lastConnectFailure = null;
      warmUp.succeeded();
      close = closed || paused || !conn.isOpen();
      if (!close) {
        long now = nanoClock.getAsLong();
        ThreadLocalRandom r = ThreadLocalRandom.current();
        long lifetime = settings.lifetime().toNanos();
        long idleLimit = settings.idleTimeout().toNanos();
        Entry e =
            new Entry(
                now,
                lifetime - (long) (lifetime * 0.1 * r.nextDouble()),
                idleLimit - (long) (idleLimit * 0.1 * r.nextDouble()),
                generation);
        entries.put(conn, e);
        active++;
        handTo = nextWaiter();
        if (handTo == null) {
          moveTo(conn, State.IDLE);
        }
      }
    }
    if (close) {
      conn.close(closed ? "shutting down" : paused ? "pool paused" : "closed during login");
      // The waiter this connect was for still waits: start another for it.
      fillWaiters();
    } else if (handTo != null) {
      deliver(handTo, conn);
    }
  }

  private void connectFailed(Throwable failure) {
    List<Waiter> failAll = new ArrayList<>();
    synchronized (this) {
      connecting--;
      lastConnectFailure = failure;
      warmUp.failed(nanoClock.getAsLong());
      if (entries.isEmpty() && connecting == 0 && !paused) {
        // Nothing live can serve the waiters: fail them now with the real reason rather than
        // after the acquire timeout (a wrong database name or a down server will not heal in
        // the next few seconds, and the client deserves the server's own error).
        Waiter w;
        while ((w = nextWaiter()) != null) {
          failAll.add(w);
        }
      }
    }
    Throwable cause = unwrap(failure);
    String event = "pool " + settings.name() + ": backend connect failed";
    if (logThrottle.admit(event, log, Level.WARN)) {
      log.warn("{}: {}", event, SafeErrors.describe(cause));
    }
    failAll.forEach(w -> fail(w, cause));
  }

  private static Throwable unwrap(Throwable t) {
    Throwable c = t;
    while (c instanceof CompletionException && c.getCause() != null) {
      c = c.getCause();
    }
    return c == null ? new IllegalStateException("connect returned nothing") : c;
  }

  private void timeOut(Waiter w) {
    PoolStats s;
    Throwable last;
    boolean wasPaused;
    synchronized (this) {
      if (w.done) {
        return;
      }
      w.done = true;
      waiters.remove(w);
      s = stats();
      last = lastConnectFailure;
      wasPaused = paused;
    }
    fail(w, acquireTimedOut(s, last == null ? null : unwrap(last), wasPaused));
  }

  /** 53300, saying what the pool looked like and the last real connect failure, if any. */
  private SluiceException acquireTimedOut(PoolStats s, Throwable lastFailure, boolean wasPaused) {
    return new SluiceException(
        SqlState.TOO_MANY_CONNECTIONS,
        Severity.ERROR,
        "no backend connection available within "
            + settings.acquireTimeout().toMillis()
            + " ms (pool "
            + settings.name()
            + ": "
            + s
            + (wasPaused ? ", paused by an administrator" : "")
            + ")",
        lastFailure == null
            ? null
            : "Last backend connect failure: " + SafeErrors.describe(lastFailure),
        "Raise --pool-size or --acquire-timeout, or shorten transactions.",
        null);
  }

  private void cancelWaiter(Waiter w) {
    synchronized (this) {
      if (w.done) {
        return;
      }
      w.done = true;
      waiters.remove(w);
      if (w.timeout != null) {
        w.timeout.cancel(false);
      }
    }
  }

  private void deliver(Waiter w, C conn) {
    w.executor.execute(() -> w.callback.done(conn, null));
  }

  private void fail(Waiter w, Throwable failure) {
    w.executor.execute(() -> w.callback.done(null, failure));
  }
}
