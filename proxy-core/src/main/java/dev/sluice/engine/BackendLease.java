package dev.sluice.engine;

import dev.sluice.logging.ConnLog;
import dev.sluice.pool.ConnectionPool;
import dev.sluice.protocol.backend.ReadyForQuery;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

/**
 * A session's hold on a backend: asking the pool for one, linking it (its settings first, then the
 * requests queued meanwhile), and giving it back once the transaction is done. The linked backend
 * itself is the session's {@code server}; everything here runs on the client's event loop.
 *
 * <pre>
 *   IDLE ─► WAITING_FOR_BACKEND ─(acquired)─► [SYNCING_SETTINGS ─►] ACTIVE ─(InFlight.idle())─► IDLE
 *                │ failed, cancelled: SessionEnds.noBackend
 * </pre>
 */
final class BackendLease {
  // The session's logger: a release that leaves a client waiting is the session's bug.
  private static final Logger log = LoggerFactory.getLogger(ClientSession.class);

  private final ClientSession s;
  private ConnectionPool.Pending pending;

  BackendLease(ClientSession s) {
    this.s = s;
  }

  /** Whether an acquire is outstanding. */
  boolean waiting() {
    return pending != null;
  }

  /** Asks the pool for a backend; the client is not read meanwhile. */
  void waitForBackend() {
    s.machine.transitionTo(ClientState.WAITING_FOR_BACKEND);
    s.updateReading();
    pending = s.pool.acquire(this::onAcquired);
  }

  /** Stops asking the pool (the client cancelled, or left). */
  void stopWaiting() {
    if (pending != null) {
      pending.cancel();
      pending = null;
    }
  }

  private void onAcquired(BackendPort b, Throwable failure) {
    pending = null;
    if (!s.machine.is(ClientState.WAITING_FOR_BACKEND)) {
      if (b != null) {
        s.pool.release(b, true, "client left while waiting");
      }
      return;
    }
    if (failure != null) {
      s.ends.noBackend(failure);
      return;
    }
    link(b);
  }

  private void link(BackendPort b) {
    s.server = b;
    s.pool.link(b, s);
    s.serverFatalRelayed = false;
    // Requests wait until the settings are in place: a setting the server refuses must end the
    // session before any of the client's statements runs without it.
    s.machine.transitionTo(
        s.settings.applyOnLink(b) ? ClientState.SYNCING_SETTINGS : ClientState.ACTIVE);
    drainQueue();
    b.flush();
    s.wroteToServer = false;
    s.out.flushOwn();
    s.updateReading();
  }

  /** The client's settings are in place: its own requests may go. */
  void settingsInPlace() {
    s.machine.transitionTo(ClientState.ACTIVE);
    drainQueue();
    s.server.flush();
    s.wroteToServer = false;
    s.updateReading();
  }

  private void drainQueue() {
    Queued q;
    while (s.machine.is(ClientState.ACTIVE) && s.server != null && (q = s.queue.poll()) != null) {
      s.requests.forward(q.frame(), q.classified());
    }
  }

  /** The backend answered a Sync or Query: what to do now that the status is known. */
  void afterReady(ReadyForQuery status) {
    s.inFlight.txStatus(status);
    if (s.cache != null) {
      s.cache.afterReady(status);
    }
    s.settings.afterReady(status);
    s.replies.emitSynthetic();
    if (s.settings.readBackIfIdle()) {
      return;
    }
    releaseIfDone();
  }

  void releaseIfDone() {
    if (s.server == null
        || !s.transactionMode
        || s.gate.pinned()
        || !s.inFlight.idle()
        || !s.queue.isEmpty()) {
      return;
    }
    if (s.out.owed().owed() != 0) {
      // Nothing is in flight, yet the client waits for an answer: it would never come.
      s.stats.bugs.increment();
      ConnLog.throttled(
          s.logThrottle,
          Level.ERROR,
          log,
          s.id,
          "BUG: backend released while the client still waits",
          "{}",
          s.describeIfStalled(0));
    }
    BackendPort b = s.server;
    s.server = null;
    s.machine.transitionTo(ClientState.IDLE);
    s.pool.release(b, true, "transaction done");
    // Reading may have stopped for this backend's sake (it could not take more); its becoming
    // writable again now reaches the pool, not this session.
    s.updateReading();
  }
}
