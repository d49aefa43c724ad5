package dev.sluice.engine;

import dev.sluice.cache.ResultCache;
import dev.sluice.config.PoolMode;
import dev.sluice.config.ProxyConfig;
import dev.sluice.error.SafeErrors;
import dev.sluice.error.SluiceException;
import dev.sluice.error.SqlState;
import dev.sluice.logging.ConnLog;
import dev.sluice.logging.LogThrottle;
import dev.sluice.protocol.Frame;
import dev.sluice.protocol.FrontendType;
import dev.sluice.protocol.backend.ReadyForQuery;
import dev.sluice.session.ClientStatements;
import dev.sluice.session.SessionParameters;
import dev.sluice.state.StateMachine;
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
 * <p>{@link BackendLease} asks the pool for a backend, links it and gives it back. A backend is
 * released (transaction mode) when {@link InFlight#idle()}: nothing in flight, the last
 * ReadyForQuery said idle, no extended batch is open without its Sync, no COPY IN runs, and the
 * client is not pinned. The state ({@link ClientState}) changes only through {@link #machine}.
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

  /** The result cache's place in this session, or null when the cache is off. */
  final CacheFront cache;

  final SessionSettings settings;
  final SessionEnds ends;
  final BackendLease lease;

  final Waiting queue = new Waiting();
  BackendPort server;

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
    this(config, stats, logThrottle, machine, port, id, pool, params, null, ReplayPolicy.NEVER);
  }

  /**
   * With the extension points: {@code cache} (null for none) answers what it holds and keeps what
   * it may, {@code replay} may re-send a batch on another backend after its backend went away.
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
      ResultCache cache,
      ReplayPolicy replay) {
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
    this.settings = new SessionSettings(this);
    this.ends = new SessionEnds(this, replay);
    this.lease = new BackendLease(this);
    this.cache = cache == null ? null : new CacheFront(this, cache, pool.database(), pool.user());
    machine.transitionTo(ClientState.IDLE);
  }

  public ClientState state() {
    return machine.state();
  }

  /** The id of the backend linked now, or null. */
  public String backendId() {
    BackendPort s = server; // read once: diagnostics may read from another thread
    return s == null ? null : s.id();
  }

  /** Whether the client is pinned to its backend for the rest of its session. */
  public boolean pinned() {
    return gate.pinned();
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
    route(f);
  }

  /** A client message on its way: past the cache, then on as usual. */
  void route(Frame f) {
    if (cache == null || !cache.offer(f)) {
      dispatch(f, Classified.NONE);
    }
  }

  /**
   * A client message past the cache: answered without a backend, queued until one is linked, or
   * forwarded to the linked one.
   *
   * @param known what the classify stage already learnt of it, or {@link Classified#NONE}
   */
  void dispatch(Frame f, Classified known) {
    byte t = f.type();
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
      requests.forward(f, known);
      return;
    }
    Classified c = known;
    if (machine.is(ClientState.IDLE) && queue.isEmpty() && transactionMode) {
      c = requests.answerWithoutBackend(f, known);
      if (c == null) {
        return;
      }
    }
    queue.add(new Queued(f, c));
    if (machine.is(ClientState.IDLE)) {
      lease.waitForBackend();
    } else if (queue.full()) {
      updateReading();
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
    ends.backendLost();
  }

  /** A message from the backend could not be read: it cannot be trusted any more. */
  void backendUnreadable(BackendPort s, RuntimeException e) {
    ConnLog.warn(log, id, "bad message from server {}: {}", s.id(), SafeErrors.describe(e));
    s.close("undecodable message");
  }

  // ---- cancel ----

  /** A CancelRequest carrying this client's key arrived. */
  public void requestCancel() {
    if (server != null
        && (machine.is(ClientState.ACTIVE) || machine.is(ClientState.SYNCING_SETTINGS))) {
      pool.cancel(server);
    } else if (machine.is(ClientState.WAITING_FOR_BACKEND)) {
      lease.stopWaiting();
      ends.noBackend(
          SluiceException.error(
              SqlState.QUERY_CANCELED, "canceling statement due to user request"));
    }
  }

  // ---- timeouts ----

  /** The periodic look at a linked session: see {@link SessionEnds#checkTimeouts}. */
  public void checkTimeouts(long now, long queryTimeoutNanos, long idleTransactionNanos) {
    ends.checkTimeouts(now, queryTimeoutNanos, idleTransactionNanos);
  }

  // ---- the end ----

  /** The client is gone: see {@link SessionEnds#clientGone}. */
  public void close() {
    boolean syncing = machine.is(ClientState.SYNCING_SETTINGS);
    if (!machine.is(ClientState.CLOSED)) {
      machine.transitionTo(ClientState.CLOSED);
    }
    lease.stopWaiting();
    if (cache != null) {
      cache.close();
    }
    ends.clientGone(syncing);
  }

  // ---- small helpers ----

  /**
   * Reads from the client only while its messages can go somewhere: to a backend that keeps up, or
   * into the waiting queue while it holds little (so a transaction's first request costs no pause
   * in reading, which would cost two epoll_ctl calls per transaction).
   */
  void updateReading() {
    boolean waiting =
        machine.is(ClientState.WAITING_FOR_BACKEND) || machine.is(ClientState.SYNCING_SETTINGS);
    boolean want =
        !machine.is(ClientState.CLOSED)
            && !(waiting && queue.full())
            && (cache == null || !cache.parked())
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
        + lease.waiting()
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
