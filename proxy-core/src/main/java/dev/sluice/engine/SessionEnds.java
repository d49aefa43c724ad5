package dev.sluice.engine;

import dev.sluice.error.SluiceException;
import dev.sluice.error.SqlState;
import dev.sluice.protocol.Frame;
import dev.sluice.protocol.FrontendType;
import dev.sluice.protocol.Severity;
import dev.sluice.protocol.backend.ErrorResponse;
import dev.sluice.protocol.backend.ReadyForQuery;
import dev.sluice.protocol.frontend.Bind;
import dev.sluice.protocol.frontend.Parse;
import dev.sluice.session.StatementKey;
import dev.sluice.session.sql.ReadOnly;
import java.util.ArrayList;
import java.util.List;

/**
 * How a session's requests end when things go wrong, and how the session itself ends: no backend
 * could be had (every queued request answered with the error), the backend went away (the client
 * hears the server's goodbye or 08006, unless a {@link ReplayPolicy} sends the batch again
 * elsewhere), and the client left (its backend rolled back, reset, or closed).
 */
final class SessionEnds {
  private final ClientSession s;
  private final ReplayPolicy replay;

  SessionEnds(ClientSession s, ReplayPolicy replay) {
    this.s = s;
    this.replay = replay;
  }

  /**
   * The server's goodbye (a FATAL) to a request that may yet be replayed elsewhere: held back from
   * the client until the backend has closed and it is known whether the batch runs again.
   */
  private Frame heldFatal;

  /** Whether {@link #heldFatal} is an ErrorResponse (FATAL) rather than a warning notice. */
  private boolean heldIsFatal;

  /**
   * Whether the backend's goodbye now (a FATAL, or a 57P0x warning before it quits) should be held
   * back (see {@link #heldFatal}).
   */
  boolean holdGoodbye(Frame goodbye, boolean fatal) {
    if (heldFatal != null
        || replay == ReplayPolicy.NEVER
        || !s.retry.unseen()
        || s.inFlight.txStatus() != ReadyForQuery.IDLE) {
      return false;
    }
    heldFatal = goodbye;
    heldIsFatal = fatal;
    return true;
  }

  /** The linked backend closed. */
  void backendLost() {
    s.server = null;
    if (s.machine.is(ClientState.SYNCING_SETTINGS)) {
      // Nothing of the client's was sent yet: its requests wait for another backend.
      s.inFlight.clear();
      s.lease.waitForBackend();
      return;
    }
    if (replayElsewhere()) {
      releaseHeldFatal();
      return;
    }
    if (heldFatal != null) {
      s.out.relay(heldFatal);
      heldFatal = null;
      s.serverFatalRelayed |= heldIsFatal;
    }
    s.inFlight.clear();
    if (s.serverFatalRelayed) {
      s.out.port().close(CloseReason.SERVER_FATAL, null);
      return;
    }
    s.out
        .port()
        .close(
            CloseReason.SERVER_GONE,
            new SluiceException(
                    SqlState.CONNECTION_FAILURE,
                    Severity.FATAL,
                    "server connection closed unexpectedly",
                    "The backend serving this session went away; the session cannot continue.",
                    null,
                    null)
                .toErrorResponse());
  }

  /**
   * The backend went away before any of the current batch's answer reached the client: where the
   * policy allows, undo what the batch did to Sluice's bookkeeping and send it again, on whichever
   * backend the pool hands over next.
   */
  private boolean replayElsewhere() {
    if (!s.retry.unseen()
        || s.inFlight.txStatus() != ReadyForQuery.IDLE
        || !replay.replayAfterBackendLoss(readOnly(s.retry.peek()))) {
      return false;
    }
    List<Frame> again = s.retry.takeForReplay();
    if (again == null) {
      return false;
    }
    s.stats.replays.increment();
    s.inFlight.clear(s.replies::undo);
    s.inFlight.extendedOpen(false);
    s.inFlight.copyIn(false);
    s.inFlight.discardUntilSync(false);
    s.queue.putFirst(again.stream().map(f -> new Queued(f, Classified.NONE)).toList());
    s.lease.waitForBackend();
    return true;
  }

  private void releaseHeldFatal() {
    if (heldFatal != null) {
      heldFatal.release();
      heldFatal = null;
    }
  }

  /** Whether every statement the batch runs certainly changes nothing. */
  private boolean readOnly(List<Frame> batch) {
    String encoding = s.params.desired().get("client_encoding");
    for (Frame f : batch) {
      FrontendType t = f.isRun() ? FrontendType.COPY_DATA : FrontendType.of(f.type());
      boolean ok =
          switch (t) {
            case QUERY -> ReadOnly.test(ClientText.decode(f.body(), encoding));
            case PARSE -> ReadOnly.test(Parse.decode(f.body()).query());
            case BIND -> {
              String name = Bind.decode(f.body()).statement();
              StatementKey key = name.isEmpty() ? null : s.statements.get(name);
              // the unnamed statement's Parse is in the batch and judged there
              yield name.isEmpty() || (key != null && ReadOnly.test(key.query()));
            }
            case DESCRIBE, EXECUTE, SYNC, FLUSH, CLOSE -> true;
            default -> false;
          };
      if (!ok) {
        return false;
      }
    }
    return true;
  }

  /**
   * The periodic look at a linked session, on the client's event loop: a request its backend has
   * left unanswered past {@code queryTimeoutNanos}, or a transaction left idle past {@code
   * idleTransactionNanos}, ends the session (zero for no limit). The backend with the unanswered
   * request is closed, the idle transaction rolled back, as for any client that leaves.
   */
  void checkTimeouts(long now, long queryTimeoutNanos, long idleTransactionNanos) {
    if (!s.machine.is(ClientState.ACTIVE) || s.server == null) {
      return;
    }
    if (queryTimeoutNanos > 0 && s.out.owed().stalledNanos(now) > queryTimeoutNanos) {
      // A slow query rather than a lost network: the cancel stops it on the server too.
      s.pool.cancel(s.server);
      s.out
          .port()
          .close(
              CloseReason.QUERY_TIMEOUT,
              new SluiceException(
                      SqlState.QUERY_CANCELED,
                      Severity.FATAL,
                      "canceling statement due to query timeout: the server did not answer within "
                          + queryTimeoutNanos / 1_000_000
                          + " ms",
                      "Sluice closed the server connection (--query-timeout).",
                      null,
                      null)
                  .toErrorResponse());
    } else if (idleTransactionNanos > 0
        && s.inFlight.txStatus() != ReadyForQuery.IDLE
        && s.out.owed().idleNanos(now) > idleTransactionNanos) {
      s.out
          .port()
          .close(
              CloseReason.IDLE_TRANSACTION_TIMEOUT,
              new SluiceException(
                      SqlState.IDLE_IN_TRANSACTION_SESSION_TIMEOUT,
                      Severity.FATAL,
                      "terminating connection due to idle-in-transaction timeout",
                      "The transaction was rolled back (--idle-transaction-timeout).",
                      null,
                      null)
                  .toErrorResponse());
    }
  }

  /** The backend could not be had: answer each queued request with the error, as a server would. */
  void noBackend(Throwable failure) {
    s.machine.transitionTo(ClientState.IDLE);
    ErrorResponse err = SessionErrors.forSession(failure);
    if (err.isFatal()) {
      s.out.port().close(CloseReason.SHUTDOWN, err);
      return;
    }
    boolean errorSent = false;
    Queued q;
    while ((q = s.queue.poll()) != null) {
      Frame f = q.frame();
      byte t = f.type();
      boolean run = f.isRun();
      f.release();
      if (t == FrontendType.QUERY.code() || t == FrontendType.FUNCTION_CALL.code()) {
        s.out.error(err);
        s.out.ready(ReadyForQuery.IDLE);
        errorSent = false;
      } else if (t == FrontendType.SYNC.code()) {
        if (!errorSent) {
          s.out.error(err);
        }
        s.out.ready(ReadyForQuery.IDLE);
        errorSent = false;
      } else if (!errorSent && !run) {
        s.out.error(err);
        errorSent = true;
      }
    }
    s.unlinkedSkip = errorSent;
    s.out.flush();
    s.updateReading();
  }

  /**
   * The client is gone. A backend with a request in flight is closed (its answers could reach
   * nobody, or the wrong client); an open transaction is rolled back; a backend with session state
   * (session mode, or a pinned client) is reset. Only then does it return to the pool.
   */
  void clientGone(boolean syncing) {
    releaseHeldFatal();
    s.out.owed().clear();
    s.retry.close();
    s.queue.drain(q -> q.frame().release());
    BackendPort b = s.server;
    s.server = null;
    boolean quiet = s.inFlight.quiet();
    s.inFlight.clear();
    if (b == null) {
      return;
    }
    if (!quiet || syncing || !b.isOpen()) {
      s.pool.release(b, false, "client left with a request in flight");
      return;
    }
    if (s.gate.unresettable()) {
      s.pool.release(b, false, "a library was loaded into it (LOAD cannot be undone)");
      return;
    }
    List<String> queries = new ArrayList<>(2);
    if (s.inFlight.txStatus() != ReadyForQuery.IDLE) {
      queries.add("ROLLBACK");
    }
    boolean sessionState = !s.transactionMode || s.gate.pinned();
    if (sessionState) {
      queries.add(s.resetQuery.isEmpty() && s.gate.pinned() ? "DISCARD ALL" : s.resetQuery);
    }
    queries.removeIf(String::isEmpty);
    if (queries.isEmpty()) {
      s.pool.release(b, true, "client left");
    } else {
      s.pool.resetAndRelease(b, queries, sessionState);
    }
  }
}
