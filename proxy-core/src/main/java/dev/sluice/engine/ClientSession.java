package dev.sluice.engine;

import dev.sluice.config.PoolMode;
import dev.sluice.config.ProxyConfig;
import dev.sluice.error.SafeErrors;
import dev.sluice.error.SluiceException;
import dev.sluice.error.SqlState;
import dev.sluice.logging.ConnLog;
import dev.sluice.logging.LogThrottle;
import dev.sluice.pool.ConnectionPool;
import dev.sluice.protocol.Frame;
import dev.sluice.protocol.FrontendType;
import dev.sluice.protocol.Severity;
import dev.sluice.protocol.backend.ErrorResponse;
import dev.sluice.protocol.backend.ReadyForQuery;
import dev.sluice.protocol.frontend.Query;
import dev.sluice.session.ClientStatements;
import dev.sluice.session.SessionParameters;
import dev.sluice.state.StateMachine;
import io.netty.buffer.ByteBuf;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

/**
 * A logged-in client's session: getting a backend, relaying both ways, and giving the backend back.
 * The server module's handlers own the sockets and feed this engine; everything here runs on the
 * client's event loop.
 *
 * <pre>
 *   request path:  onMessage ─► [IDLE: answer without a backend (LocalAnswers) or queue + acquire]
 *                            ─► Requests: classify once ─► admit (SessionStateGate) ─► answer
 *                               locally ─► rewrite statement names ─► send, recorded in InFlight
 *   response path: onBackendFrames ─► Replies: the head of InFlight decides per frame: relay to
 *                               the client, hide, or capture (read-back, replay); then release
 * </pre>
 *
 * <p>A backend is released (transaction mode) when {@link InFlight#idle()}: nothing in flight, the
 * last ReadyForQuery said idle, no extended batch is open without its Sync, no COPY IN runs, and
 * the client is not pinned. The state ({@link ClientState}) changes only through {@link #machine}.
 */
public final class ClientSession {
  private static final Logger log = LoggerFactory.getLogger(ClientSession.class);

  final String id;
  final BackendPool pool;
  final SessionParameters params;
  final ProxyStats stats;
  final LogThrottle logThrottle;
  final boolean transactionMode;
  final String resetQuery;

  final StateMachine<ClientState> machine;
  final ClientOutput out;
  final InFlight inFlight = new InFlight();
  final ClientStatements statements;
  final SessionStateGate gate;
  final ReplayBatch retry = new ReplayBatch();
  final Requests requests;
  final Replies replies;
  final QueryHooks hooks;
  private final ReplayPolicy replay;

  private final ArrayDeque<Queued> queue = new ArrayDeque<>();
  BackendPort server;
  private ConnectionPool.Pending pending;
  ErrorResponse settingsError;

  /** After a failed acquire, nothing linked: answer the next Sync ourselves. */
  boolean unlinkedSkip;

  boolean wroteToServer;
  boolean serverFatalRelayed;
  boolean replaying;

  /**
   * @param machine the client's state machine, in {@link ClientState#LOGGING_IN}; the session moves
   *     it to IDLE and on from there
   */
  public ClientSession(
      ProxyConfig config,
      ProxyStats stats,
      LogThrottle logThrottle,
      StateMachine<ClientState> machine,
      ClientPort port,
      String id,
      BackendPool pool,
      SessionParameters params) {
    this(
        config,
        stats,
        logThrottle,
        machine,
        port,
        id,
        pool,
        params,
        QueryHooks.NONE,
        ReplayPolicy.NEVER);
  }

  /**
   * With the extension points: {@code hooks} may answer or watch simple Queries, {@code replay} may
   * re-send a batch on another backend after its backend went away.
   */
  public ClientSession(
      ProxyConfig config,
      ProxyStats stats,
      LogThrottle logThrottle,
      StateMachine<ClientState> machine,
      ClientPort port,
      String id,
      BackendPool pool,
      SessionParameters params,
      QueryHooks hooks,
      ReplayPolicy replay) {
    this.hooks = hooks;
    this.replay = replay;
    this.id = id;
    this.pool = pool;
    this.params = params;
    this.stats = stats;
    this.logThrottle = logThrottle;
    this.transactionMode = config.poolMode() == PoolMode.TRANSACTION;
    this.resetQuery = config.serverResetQuery();
    this.machine = machine;
    this.out = new ClientOutput(port, retry);
    this.gate = new SessionStateGate(params, config.sessionState());
    this.statements = new ClientStatements(pool.statementGenerations());
    this.requests = new Requests(this);
    this.replies = new Replies(this);
    machine.transitionTo(ClientState.IDLE);
  }

  public ClientState state() {
    return machine.state();
  }

  // ---- from the client ----

  /** A message from the logged-in client (Terminate is handled by the connection). */
  public void onMessage(Frame f) {
    byte t = f.type();
    if (!f.isRun() && !isSessionMessage(t)) {
      f.release();
      throw SluiceException.protocolViolation("invalid frontend message type " + (int) t);
    }
    if (!f.isRun() && owesReady(t)) {
      out.requested();
    }
    if (server == null && queue.isEmpty() && (unlinkedSkip || isCopyStray(f))) {
      // Left over after a failed batch or a COPY that already ended: the server would ignore
      // it too (the protocol's error-recovery and COPY rules), so no backend is needed.
      f.release();
      if (unlinkedSkip && t == FrontendType.SYNC.code()) {
        unlinkedSkip = false;
        out.ready(ReadyForQuery.IDLE);
        out.flush();
      }
      return;
    }
    if (machine.is(ClientState.ACTIVE) && queue.isEmpty()) {
      requests.forward(f, Classified.NONE);
      return;
    }
    Classified c = Classified.NONE;
    if (machine.is(ClientState.IDLE) && queue.isEmpty() && transactionMode) {
      c = requests.answerWithoutBackend(f);
      if (c == null) {
        return;
      }
    }
    queue.add(new Queued(f, c));
    if (machine.is(ClientState.IDLE)) {
      startAcquire();
    }
  }

  /** End of one read from the client: send what was forwarded. */
  public void onReadComplete() {
    out.flushOwn();
    if (wroteToServer && server != null) {
      wroteToServer = false;
      server.flush();
      if (!server.isWritable()) {
        updateReading();
      }
    }
  }

  public void onClientWritable() {
    if (server != null) {
      server.setReading(true);
    }
  }

  /** Whether the protocol answers this client message with exactly one ReadyForQuery. */
  private boolean owesReady(byte t) {
    return t == FrontendType.QUERY.code()
        || t == FrontendType.FUNCTION_CALL.code()
        || (t == FrontendType.SYNC.code() && !inFlight.copyIn());
  }

  private static boolean isSessionMessage(byte t) {
    FrontendType ft = FrontendType.of(t);
    return ft != FrontendType.UNKNOWN && ft != FrontendType.PASSWORD;
  }

  private static boolean isCopyStray(Frame f) {
    return f.isRun()
        || f.type() == FrontendType.COPY_DONE.code()
        || f.type() == FrontendType.COPY_FAIL.code();
  }

  // ---- getting a backend ----

  private void startAcquire() {
    machine.transitionTo(ClientState.WAITING_FOR_BACKEND);
    updateReading();
    pending = pool.acquire(this::onAcquired);
  }

  private void onAcquired(BackendPort s, Throwable failure) {
    pending = null;
    if (!machine.is(ClientState.WAITING_FOR_BACKEND)) {
      if (s != null) {
        pool.release(s, true, "client left while waiting");
      }
      return;
    }
    if (failure != null) {
      failQueued(failure);
      return;
    }
    link(s);
  }

  private void link(BackendPort s) {
    server = s;
    pool.link(s, this);
    serverFatalRelayed = false;
    String sync = params.syncQuery(s.session().applied());
    if (sync != null) {
      // Held until the settings are in place: a setting the server refuses must end the
      // session before any of the client's statements runs without it.
      machine.transitionTo(ClientState.SYNCING_SETTINGS);
      settingsError = null;
      ByteBuf buf = out.port().alloc().buffer(sync.length() + 8);
      new Query(sync).encode(buf);
      s.write(buf);
      inFlight.add(Expected.SETTINGS);
    } else {
      machine.transitionTo(ClientState.ACTIVE);
    }
    drainQueue();
    s.flush();
    wroteToServer = false;
    out.flushOwn();
    updateReading();
  }

  /** The settings are in place (or were refused): the client's own requests may go. */
  void settingsApplied() {
    if (settingsError != null) {
      // A setting the server refuses (settings are checked at login, so this is rare): what
      // PostgreSQL would have said at login. The backend's settings are not what its
      // bookkeeping says, so it is closed rather than handed to the next client.
      BackendPort s = server;
      server = null;
      pool.release(s, false, "settings sync failed");
      out.port().close(CloseReason.LOGIN_FAILED, SessionErrors.asFatal(settingsError));
      return;
    }
    machine.transitionTo(ClientState.ACTIVE);
    drainQueue();
    server.flush();
    wroteToServer = false;
    updateReading();
  }

  private void drainQueue() {
    Queued q;
    while (machine.is(ClientState.ACTIVE) && server != null && (q = queue.poll()) != null) {
      requests.forward(q.frame(), q.classified());
    }
  }

  // ---- giving it back ----

  /** The backend answered a Sync or Query: what to do now that the status is known. */
  void afterReady(ReadyForQuery status) {
    inFlight.txStatus(status);
    if (status == ReadyForQuery.IDLE
        && inFlight.isEmpty()
        && server != null
        && gate.takeResetAll()) {
      // RESET ALL returned the backend to its own defaults; the client's own session settings
      // (its startup values) are replayed on the next backend it gets.
      params.resetToStartup();
      server.session().applied().clear();
    }
    replies.emitSynthetic();
    if (captureIfIdle()) {
      return;
    }
    releaseIfDone();
  }

  /**
   * Once the backend is idle, reads back the tracked settings the client changed that the server
   * does not report (after a rollback they are read back unchanged, which is right too).
   */
  private boolean captureIfIdle() {
    if (!gate.hasCaptures()
        || server == null
        || inFlight.txStatus() != ReadyForQuery.IDLE
        || !inFlight.quiet()) {
      return false;
    }
    List<String> names = gate.takeCaptures();
    String sql = SessionStateGate.captureQuery(names);
    ByteBuf buf = out.port().alloc().buffer(sql.length() + 8);
    new Query(sql).encode(buf);
    server.write(buf);
    server.flush();
    inFlight.add(Expected.capture(names));
    return true;
  }

  void releaseIfDone() {
    if (server == null
        || !transactionMode
        || gate.pinned()
        || !inFlight.idle()
        || !queue.isEmpty()) {
      return;
    }
    if (out.owed().owed() != 0) {
      // Nothing is in flight, yet the client waits for an answer: it would never come.
      stats.bugs.increment();
      ConnLog.throttled(
          logThrottle,
          Level.ERROR,
          log,
          id,
          "BUG: backend released while the client still waits",
          "{}",
          describeIfStalled(0));
    }
    BackendPort s = server;
    server = null;
    machine.transitionTo(ClientState.IDLE);
    pool.release(s, true, "transaction done");
  }

  // ---- from the backend ----

  /** Frames from the linked backend, on the client's event loop; the session owns them. */
  public void onBackendFrames(BackendPort s, List<Frame> frames) {
    replies.onFrames(s, frames);
  }

  public void onBackendWritable(BackendPort s) {
    if (s == server) {
      updateReading();
    }
  }

  public void onBackendClosed(BackendPort s) {
    if (s != server || machine.is(ClientState.CLOSED)) {
      return;
    }
    server = null;
    if (replayElsewhere()) {
      return;
    }
    inFlight.clear(Expected::discard);
    if (serverFatalRelayed) {
      out.port().close(CloseReason.SERVER_FATAL, null);
      return;
    }
    out.port()
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
    if (!replay.replayAfterBackendLoss() || inFlight.txStatus() != ReadyForQuery.IDLE) {
      return false;
    }
    List<Frame> again = retry.takeForReplay();
    if (again == null) {
      return false;
    }
    stats.replays.increment();
    inFlight.clear(replies::undo);
    inFlight.extendedOpen(false);
    inFlight.copyIn(false);
    inFlight.discardUntilSync(false);
    ArrayDeque<Queued> rest = new ArrayDeque<>(queue);
    queue.clear();
    again.forEach(f -> queue.add(new Queued(f, Classified.NONE)));
    queue.addAll(rest);
    machine.transitionTo(ClientState.WAITING_FOR_BACKEND);
    updateReading();
    pending = pool.acquire(this::onAcquired);
    return true;
  }

  /** A message from the backend could not be read: it cannot be trusted any more. */
  void backendUnreadable(BackendPort s, RuntimeException e) {
    ConnLog.warn(log, id, "bad message from server {}: {}", s.id(), SafeErrors.describe(e));
    s.close("undecodable message");
  }

  // ---- failures before a backend was had ----

  /** The backend could not be had: answer each queued request with the error, as a server would. */
  private void failQueued(Throwable failure) {
    machine.transitionTo(ClientState.IDLE);
    ErrorResponse err = SessionErrors.forSession(failure);
    if (err.isFatal()) {
      out.port().close(CloseReason.SHUTDOWN, err);
      return;
    }
    boolean errorSent = false;
    Queued q;
    while ((q = queue.poll()) != null) {
      Frame f = q.frame();
      byte t = f.type();
      boolean run = f.isRun();
      f.release();
      if (t == FrontendType.QUERY.code() || t == FrontendType.FUNCTION_CALL.code()) {
        out.error(err);
        out.ready(ReadyForQuery.IDLE);
        errorSent = false;
      } else if (t == FrontendType.SYNC.code()) {
        if (!errorSent) {
          out.error(err);
        }
        out.ready(ReadyForQuery.IDLE);
        errorSent = false;
      } else if (!errorSent && !run) {
        out.error(err);
        errorSent = true;
      }
    }
    unlinkedSkip = errorSent;
    out.flush();
    updateReading();
  }

  // ---- cancel ----

  /** A CancelRequest carrying this client's key arrived. */
  public void requestCancel() {
    if (server != null
        && (machine.is(ClientState.ACTIVE) || machine.is(ClientState.SYNCING_SETTINGS))) {
      pool.cancel(server);
    } else if (machine.is(ClientState.WAITING_FOR_BACKEND)) {
      if (pending != null) {
        pending.cancel();
        pending = null;
      }
      failQueued(
          SluiceException.error(
              SqlState.QUERY_CANCELED, "canceling statement due to user request"));
    }
  }

  // ---- the end ----

  /**
   * The client is gone. A backend with a request in flight is closed (its answers could reach
   * nobody, or the wrong client); an open transaction is rolled back; a backend with session state
   * (session mode, or a pinned client) is reset. Only then does it return to the pool.
   */
  public void close() {
    boolean syncing = machine.is(ClientState.SYNCING_SETTINGS);
    if (!machine.is(ClientState.CLOSED)) {
      machine.transitionTo(ClientState.CLOSED);
    }
    out.owed().clear();
    retry.close();
    if (pending != null) {
      pending.cancel();
      pending = null;
    }
    queue.forEach(q -> q.frame().release());
    queue.clear();
    BackendPort s = server;
    server = null;
    boolean quiet = inFlight.quiet();
    inFlight.clear(Expected::discard);
    if (s == null) {
      return;
    }
    if (!quiet || syncing || !s.isOpen()) {
      pool.release(s, false, "client left with a request in flight");
      return;
    }
    if (gate.unresettable()) {
      pool.release(s, false, "a library was loaded into it (LOAD cannot be undone)");
      return;
    }
    List<String> queries = new ArrayList<>(2);
    if (inFlight.txStatus() != ReadyForQuery.IDLE) {
      queries.add("ROLLBACK");
    }
    boolean sessionState = !transactionMode || gate.pinned();
    if (sessionState) {
      queries.add(resetQuery.isEmpty() && gate.pinned() ? "DISCARD ALL" : resetQuery);
    }
    queries.removeIf(String::isEmpty);
    if (queries.isEmpty()) {
      pool.release(s, true, "client left");
    } else {
      pool.resetAndRelease(s, queries, sessionState);
    }
  }

  // ---- small helpers ----

  /** Reads from the client only when its messages can go somewhere. */
  void updateReading() {
    boolean want =
        !machine.is(ClientState.CLOSED)
            && !machine.is(ClientState.WAITING_FOR_BACKEND)
            && !machine.is(ClientState.SYNCING_SETTINGS)
            && (server == null || server.isWritable());
    out.port().setReading(want);
  }

  /** Pins and refusals are rare but can come in bursts: logged once per burst. */
  void logPinned(String reason) {
    ConnLog.throttled(
        logThrottle,
        Level.INFO,
        log,
        id,
        "client pinned to its backend for the rest of its session",
        "{} ({})",
        reason,
        server == null ? "-" : server.id());
  }

  /**
   * What the client is owed, for diagnostics: unanswered requests and how long since the last
   * answer; null when nothing is owed or nothing moved for less than {@code minNanos}.
   */
  public String describeIfStalled(long minNanos) {
    long stalled = out.owed().stalledNanos(System.nanoTime());
    if (stalled == 0 || stalled < minNanos) {
      return null;
    }
    return "owes "
        + out.owed().owed()
        + " answer(s), none for "
        + stalled / 1_000_000
        + " ms; state="
        + machine.state()
        + " server="
        + (server == null ? null : server.id())
        + " queued="
        + queue.size()
        + " expected="
        + inFlight.describe()
        + " pending="
        + (pending != null)
        + " extendedOpen="
        + inFlight.extendedOpen()
        + " copyIn="
        + inFlight.copyIn()
        + " reading="
        + out.port().isReading();
  }

  @Override
  public String toString() {
    return id;
  }
}
