package dev.sluice.server;

import dev.sluice.config.PoolMode;
import dev.sluice.error.SafeErrors;
import dev.sluice.error.Severity;
import dev.sluice.error.SluiceException;
import dev.sluice.error.SqlState;
import dev.sluice.pool.ConnectionPool;
import dev.sluice.protocol.BackendType;
import dev.sluice.protocol.Frame;
import dev.sluice.protocol.FrontendType;
import dev.sluice.protocol.backend.CommandComplete;
import dev.sluice.protocol.backend.ErrorResponse;
import dev.sluice.protocol.backend.ParameterStatus;
import dev.sluice.protocol.backend.ReadyForQuery;
import dev.sluice.protocol.frontend.Bind;
import dev.sluice.protocol.frontend.Describe;
import dev.sluice.protocol.frontend.Parse;
import dev.sluice.protocol.frontend.Query;
import dev.sluice.protocol.frontend.Sync;
import dev.sluice.session.ClientStatements;
import dev.sluice.session.OwedAnswers;
import dev.sluice.session.SessionParameters;
import dev.sluice.session.StatementKey;
import dev.sluice.session.sql.Classification;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

/**
 * A logged-in client's traffic: getting a backend, relaying both ways, and giving the backend back.
 *
 * <pre>
 *   IDLE ──message──► WAITING (messages queued, acquire pending) ──backend──► LINKED
 *   LINKED ──ReadyForQuery('I'), nothing outstanding (transaction mode, not pinned)──► IDLE
 * </pre>
 *
 * <p>Every request sent to the backend is recorded in {@link #expected}, in order; the protocol
 * answers requests in order, so the head of that queue tells which request each backend message
 * answers, and whether the client sees it. That is what lets Sluice add requests of its own
 * (settings replay, preparing a client's statement on this backend, closing evicted statements) and
 * answer some requests itself (a Parse the backend already has, a Close of a client's statement)
 * with every answer in the place the client expects. After an error in an extended-protocol batch
 * the backend skips to the next Sync, and so does the queue.
 *
 * <p>In transaction mode, named prepared statements are the client's own: a Parse is recorded under
 * the client's name and prepared on each backend under a Sluice name, shared by every client that
 * prepares the same text; Bind and Describe are renamed on the way through.
 *
 * <p>A backend is released (transaction mode) when the queue is empty, the last ReadyForQuery said
 * idle, no extended batch is open without its Sync, no COPY IN is running and the client is not
 * pinned. Everything here runs on the client's event loop.
 */
final class ClientSession implements ServerConnection.Sink {
  private static final Logger log = LoggerFactory.getLogger(ClientSession.class);

  private enum State {
    IDLE,
    WAITING,
    LINKED,
    CLOSED
  }

  /** What the owning connection does when the session must end. */
  interface Closer {
    void close(CloseReason reason, ErrorResponse error);
  }

  private final ProxyContext ctx;
  private final Channel channel;
  private final ReadGate readGate;
  private final String id;
  private final ServerPool pool;
  private final SessionParameters params;
  private final Closer closer;
  private final boolean mapStatements;

  private final ArrayDeque<Frame> queue = new ArrayDeque<>();
  private final ArrayDeque<Expected> expected = new ArrayDeque<>();
  private final ClientStatements statements = new ClientStatements();
  private final OwedAnswers owed = new OwedAnswers();

  private State state = State.IDLE;
  private ServerConnection server;
  private ConnectionPool.Pending pending;
  private boolean extendedOpen;
  private boolean copyIn;
  private boolean holdForSettings;
  private ErrorResponse settingsError;

  /** After a synthetic error: drop client messages until Sync, as the server would. */
  private boolean discardUntilSync;

  /** After a failed acquire, nothing linked: answer the next Sync ourselves. */
  private boolean unlinkedSkip;

  private boolean wroteToServer;

  /** Sluice wrote answers of its own while handling client messages: flush them with the read. */
  private boolean wroteToClient;

  private boolean serverFatalRelayed;
  private ReadyForQuery txStatus = ReadyForQuery.IDLE;

  /** Session state the client's SQL creates: pins, refusals, settings to read back. */
  private final SessionStateGate gate;

  // Statements that fail on purpose, in the server's log too, so they say why there.
  private static final String FAIL_BATCH_SQL =
      "SELECT \"sluice: the proxy answered this batch with an error; failing it here the same way\"";
  private static final String REFUSED_SQL =
      "SELECT \"sluice: statement refused by the proxy (--session-state reject)\"";

  /** The current batch, kept in case a schema change makes its statement stale. */
  private final RetryBatch retry = new RetryBatch();

  private boolean replaying;

  ClientSession(
      ProxyContext ctx,
      Channel channel,
      ReadGate readGate,
      String id,
      ServerPool pool,
      SessionParameters params,
      Closer closer) {
    this.ctx = ctx;
    this.channel = channel;
    this.readGate = readGate;
    this.id = id;
    this.pool = pool;
    this.params = params;
    this.closer = closer;
    this.mapStatements = ctx.config().poolMode() == PoolMode.TRANSACTION;
    this.gate = new SessionStateGate(params, ctx.config().sessionState());
  }

  // ---- client side ----

  /** A message from the logged-in client. */
  void onMessage(Frame f) {
    byte t = f.type();
    if (!f.isRun() && !isSessionMessage(t)) {
      f.release();
      throw SluiceException.protocolViolation("invalid frontend message type " + (int) t);
    }
    if (!f.isRun() && owesReady(t)) {
      owed.requested(System.nanoTime());
    }
    if (server == null && queue.isEmpty() && (unlinkedSkip || isCopyStray(f))) {
      // Left over after a failed batch or a COPY that already ended: the server would ignore
      // it too (the protocol's error-recovery and COPY rules), so no backend is needed.
      f.release();
      if (unlinkedSkip && t == FrontendType.SYNC.code()) {
        unlinkedSkip = false;
        writeReady(ReadyForQuery.IDLE);
        channel.flush();
      }
      return;
    }
    if (state == State.LINKED && !holdForSettings && queue.isEmpty()) {
      forward(f);
      return;
    }
    if (state == State.IDLE && queue.isEmpty() && mapStatements && answerUnlinked(f)) {
      return;
    }
    queue.add(f);
    if (state == State.IDLE) {
      startAcquire();
    }
  }

  /**
   * Answers, without a backend, what needs none: a Parse of a statement some backend of this pool
   * has already prepared (so it is known to parse), the Close of a client's statement, and a Sync
   * or Flush with nothing of the batch on a backend. Besides saving a backend round trip, this
   * keeps a client that prepares synchronously (libpq's PQprepare, pgbench -M prepared) from
   * waiting for a backend that other clients of the same thread hold in open transactions.
   *
   * @return true when the message was answered (and released)
   */
  private boolean answerUnlinked(Frame f) {
    try {
      return tryAnswerUnlinked(f);
    } catch (RuntimeException e) {
      // a malformed message: released here, the violation ends the session upstream
      f.release();
      throw e;
    }
  }

  private boolean tryAnswerUnlinked(Frame f) {
    FrontendType type = FrontendType.of(f.type());
    switch (type) {
      case PARSE -> {
        Parse p = Parse.decode(f.body());
        if (p.name().isEmpty() || !classify(p.query()).isPlain()) {
          return false;
        }
        if (statements.has(p.name())) {
          f.release();
          writeError(SessionErrors.duplicateStatement(p.name()));
          unlinkedSkip = true;
          return true;
        }
        StatementKey key = new StatementKey(p.query(), p.parameterTypes(), statementContext());
        if (!pool.isKnownStatement(key)) {
          return false;
        }
        f.release();
        ctx.stats().clientParses.increment();
        statements.define(p.name(), key);
        writeSimple(BackendType.PARSE_COMPLETE);
        return true;
      }
      case CLOSE -> {
        Describe c = Describe.decode(f.body());
        if (!c.isStatement() || c.name().isEmpty()) {
          return false;
        }
        f.release();
        statements.close(c.name());
        writeSimple(BackendType.CLOSE_COMPLETE);
        return true;
      }
      case SYNC -> {
        f.release();
        writeReady(ReadyForQuery.IDLE);
        channel.flush();
        return true;
      }
      case FLUSH -> {
        f.release();
        channel.flush();
        return true;
      }
      case QUERY -> {
        String sql = ClientText.decode(f.body(), params.desired().get("client_encoding"));
        String name = SessionStateGate.ownDeallocate(classify(sql), sql, statements::has);
        if (name == null) {
          return false;
        }
        f.release();
        statements.remove(name);
        ByteBuf out = channel.alloc().buffer(32);
        new CommandComplete("DEALLOCATE").encode(out);
        ReadyForQuery.IDLE.encode(out);
        channel.writeAndFlush(out, channel.voidPromise());
        owed.answered(System.nanoTime());
        return true;
      }
      default -> {
        return false;
      }
    }
  }

  private void writeSimple(BackendType type) {
    ByteBuf out = channel.alloc().buffer(5);
    out.writeByte(type.code()).writeInt(4);
    channel.write(out, channel.voidPromise());
    wroteToClient = true;
  }

  /** End of one read from the client: send what was forwarded. */
  void onReadComplete() {
    if (wroteToClient) {
      wroteToClient = false;
      channel.flush();
    }
    if (wroteToServer && server != null) {
      wroteToServer = false;
      server.flush();
      if (!server.channel().isWritable()) {
        updateReading();
      }
    }
  }

  void onClientWritable() {
    if (server != null) {
      server.setAutoRead(true);
    }
  }

  /** Whether the protocol answers this client message with exactly one ReadyForQuery. */
  private boolean owesReady(byte t) {
    return t == FrontendType.QUERY.code()
        || t == FrontendType.FUNCTION_CALL.code()
        || (t == FrontendType.SYNC.code() && !copyIn);
  }

  /**
   * What the client is owed, for diagnostics: unanswered requests and how long since the last
   * answer; null when nothing is owed or nothing moved for less than {@code minNanos}.
   */
  String describeIfStalled(long minNanos) {
    long stalled = owed.stalledNanos(System.nanoTime());
    if (stalled == 0 || stalled < minNanos) {
      return null;
    }
    return "owes "
        + owed.owed()
        + " answer(s), none for "
        + stalled / 1_000_000
        + " ms; state="
        + state
        + " server="
        + server
        + " queued="
        + queue.size()
        + " expected="
        + expected.stream().map(e -> e.kind().name()).toList()
        + " pending="
        + (pending != null)
        + " holdForSettings="
        + holdForSettings
        + " extendedOpen="
        + extendedOpen
        + " copyIn="
        + copyIn
        + " autoRead="
        + channel.config().isAutoRead();
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
    state = State.WAITING;
    updateReading();
    pending =
        pool.pool()
            .acquire(
                channel.eventLoop(), channel.eventLoop(), channel.eventLoop(), this::onAcquired);
  }

  private void onAcquired(ServerConnection s, Throwable failure) {
    pending = null;
    if (state != State.WAITING) {
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

  private void link(ServerConnection s) {
    server = s;
    s.attach(this);
    state = State.LINKED;
    serverFatalRelayed = false;
    String sync = params.syncQuery(s.applied);
    if (sync != null) {
      // Held until the settings are in place: a setting the server refuses must end the
      // session before any of the client's statements runs without it.
      holdForSettings = true;
      settingsError = null;
      ByteBuf out = channel.alloc().buffer(sync.length() + 8);
      new Query(sync).encode(out);
      s.write(out);
      expected.add(Expected.SETTINGS);
    }
    drainQueue();
    s.flush();
    wroteToServer = false;
    if (wroteToClient) {
      wroteToClient = false;
      channel.flush();
    }
    updateReading();
  }

  private void drainQueue() {
    Frame f;
    while (!holdForSettings && server != null && (f = queue.poll()) != null) {
      forward(f);
    }
  }

  // ---- requests to the backend ----

  private void forward(Frame f) {
    FrontendType type = f.isRun() ? FrontendType.COPY_DATA : FrontendType.of(f.type());
    if (discardUntilSync && type != FrontendType.SYNC) {
      f.release();
      return;
    }
    if (mapStatements && !replaying) {
      retry.offer(f, type, expected.isEmpty() && txStatus == ReadyForQuery.IDLE && !extendedOpen);
    }
    switch (type) {
      case QUERY -> forwardQuery(f);
      case FUNCTION_CALL -> send(f, Expected.FUNCTION_CALL);
      case PARSE -> forwardParse(f);
      case BIND -> forwardBind(f);
      case DESCRIBE -> forwardDescribe(f);
      case EXECUTE -> sendExtended(f, Expected.EXECUTE);
      case CLOSE -> forwardClose(f);
      case SYNC -> forwardSync(f);
      case FLUSH -> send(f, null);
      case COPY_DONE, COPY_FAIL -> {
        copyIn = false;
        send(f, null);
      }
      default -> send(f, null);
    }
  }

  private void send(Frame f, Expected e) {
    server.write(f.buf());
    wroteToServer = true;
    if (e != null) {
      expected.add(e);
    }
  }

  private void sendExtended(Frame f, Expected e) {
    extendedOpen = true;
    send(f, e);
  }

  private void sendOwn(ByteBuf buf, Expected e) {
    server.write(buf);
    wroteToServer = true;
    expected.add(e);
  }

  private void forwardSync(Frame f) {
    if (copyIn) {
      // The server ignores Sync during COPY IN and sends no ReadyForQuery for it.
      send(f, null);
      return;
    }
    discardUntilSync = false;
    extendedOpen = false;
    send(f, Expected.SYNC);
    closeEvictedStatements();
  }

  private void forwardParse(Frame f) {
    Parse p;
    try {
      p = Parse.decode(f.body());
    } catch (RuntimeException e) {
      f.release();
      throw e;
    }
    if (mapStatements && !admit(classify(p.query()), false)) {
      f.release();
      extendedOpen = true;
      return;
    }
    if (!mapStatements || p.name().isEmpty()) {
      sendExtended(f, Expected.PARSE);
      return;
    }
    f.release();
    extendedOpen = true;
    ctx.stats().clientParses.increment();
    StatementKey key = new StatementKey(p.query(), p.parameterTypes(), statementContext());
    ClientStatements.Route route = statements.parse(p.name(), key, server.statements());
    if (route instanceof ClientStatements.Route.Refuse r) {
      synthesizeError(r);
    } else if (route instanceof ClientStatements.Route.Send send) {
      ctx.stats().serverParses.increment();
      ByteBuf out = channel.alloc().buffer(p.query().length() + 32);
      new Parse(send.serverName(), p.query(), p.parameterTypes()).encode(out);
      sendOwn(out, Expected.parse(key, p.name()));
    } else {
      // the backend already has it: ParseComplete from Sluice, in its place
      expected.add(Expected.synthParse(key, p.name()));
      emitSynthetic();
    }
  }

  private void forwardBind(Frame f) {
    String statement;
    try {
      statement = Bind.decode(f.body()).statement();
    } catch (RuntimeException e) {
      f.release();
      throw e;
    }
    if (!mapStatements || statement.isEmpty()) {
      sendExtended(f, Expected.BIND);
      return;
    }
    extendedOpen = true;
    ClientStatements.Route.Send send = sendUnderServerName(statement);
    if (send == null) {
      f.release();
      return;
    }
    ByteBuf renamed = Bind.renameStatement(channel.alloc(), f.body(), send.serverName());
    f.release();
    sendOwn(renamed, Expected.bind(send.key()));
  }

  private void forwardDescribe(Frame f) {
    Describe d;
    try {
      d = Describe.decode(f.body());
    } catch (RuntimeException e) {
      f.release();
      throw e;
    }
    if (!d.isStatement()) {
      sendExtended(f, Expected.DESCRIBE_PORTAL);
      return;
    }
    if (!mapStatements || d.name().isEmpty()) {
      sendExtended(f, Expected.DESCRIBE_STATEMENT);
      return;
    }
    f.release();
    extendedOpen = true;
    ClientStatements.Route.Send send = sendUnderServerName(d.name());
    if (send == null) {
      return;
    }
    ByteBuf out = channel.alloc().buffer(send.serverName().length() + 8);
    new Describe(Describe.STATEMENT, send.serverName()).encode(out, FrontendType.DESCRIBE.code());
    sendOwn(out, Expected.DESCRIBE_STATEMENT);
  }

  private void forwardClose(Frame f) {
    Describe c;
    try {
      c = Describe.decode(f.body());
    } catch (RuntimeException e) {
      f.release();
      throw e;
    }
    if (!mapStatements || !c.isStatement() || c.name().isEmpty()) {
      sendExtended(f, Expected.CLOSE);
      return;
    }
    f.release();
    extendedOpen = true;
    StatementKey key = ((ClientStatements.Route.Answer) statements.close(c.name())).key();
    expected.add(key == null ? Expected.SYNTH_CLOSE_COMPLETE : Expected.synthClose(key, c.name()));
    emitSynthetic();
  }

  /**
   * Routes a Bind or Describe of the client's statement {@code clientName} on the linked backend:
   * its server-side name there, after preparing it there (hidden from the client) when this backend
   * lacks it; null after answering 26000 when the client has no such statement.
   */
  private ClientStatements.Route.Send sendUnderServerName(String clientName) {
    ClientStatements.Route route = statements.use(clientName, server.statements());
    if (!(route instanceof ClientStatements.Route.Send send)) {
      synthesizeError((ClientStatements.Route.Refuse) route);
      return null;
    }
    if (send.prepareFirst()) {
      ctx.stats().serverParses.increment();
      StatementKey key = send.key();
      ByteBuf out = channel.alloc().buffer(key.query().length() + 32);
      new Parse(send.serverName(), key.query(), key.parameterTypes()).encode(out);
      sendOwn(out, Expected.hiddenParse(key));
    }
    return send;
  }

  private void synthesizeError(ClientStatements.Route.Refuse r) {
    synthesizeError(ErrorResponse.of(Severity.ERROR, r.state().code(), r.message(), null, null));
  }

  /**
   * Answers the current request with {@code error} as PostgreSQL would: the error in its place,
   * then nothing until the client's Sync. A deliberately invalid Parse puts the backend into the
   * same error state, so the ReadyForQuery that ends the batch reports the transaction status
   * PostgreSQL would (a failed transaction block stays failed).
   */
  private void synthesizeError(ErrorResponse error) {
    expected.add(Expected.error(error));
    ByteBuf out = channel.alloc().buffer(32);
    new Parse("", FAIL_BATCH_SQL, new int[0]).encode(out);
    sendOwn(out, Expected.HIDDEN_FAIL);
    discardUntilSync = true;
    emitSynthetic();
  }

  /** Closes statements the backend's LRU evicted, now that the batch that used them synced. */
  private void closeEvictedStatements() {
    if (server == null || !server.statements().hasEvicted()) {
      return;
    }
    List<String> names = server.statements().takeEvicted();
    for (String name : names) {
      ByteBuf out = channel.alloc().buffer(name.length() + 8);
      new Describe(Describe.STATEMENT, name).encode(out, FrontendType.CLOSE.code());
      sendOwn(out, Expected.HIDDEN_CLOSE);
    }
    ByteBuf sync = channel.alloc().buffer(5);
    Sync.encode(sync);
    sendOwn(sync, Expected.HIDDEN_SYNC);
    ctx.stats().evictions.add(names.size());
  }

  /**
   * What else decides a statement's meaning besides its text: the search path it resolves names in,
   * and the encoding its bytes are in.
   */
  private String statementContext() {
    Map<String, String> d = params.desired();
    return d.getOrDefault("search_path", "") + '\u0001' + d.getOrDefault("client_encoding", "");
  }

  // ---- session state in transaction mode ----

  private void forwardQuery(Frame f) {
    if (!mapStatements) {
      send(f, Expected.QUERY);
      return;
    }
    String sql = ClientText.decode(f.body(), params.desired().get("client_encoding"));
    Classification c = classify(sql);
    if (!admit(c, true)) {
      f.release();
      return;
    }
    if (answeredLocally(c, sql)) {
      f.release();
      return;
    }
    send(f, Expected.QUERY);
  }

  private Classification classify(String sql) {
    return gate.classify(sql);
  }

  /**
   * Applies what a statement does to session state before it is sent: the client is pinned (or the
   * statement refused, with {@code --session-state reject}) for state that cannot follow it to
   * another backend; tracked settings are noted to read back once the backend is idle.
   *
   * @return false when the statement was refused; the refusal is then queued for the client
   */
  private boolean admit(Classification c, boolean simpleQuery) {
    if (!mapStatements) {
      return true;
    }
    SessionStateGate.Admission a = gate.admit(c, pool.reportedSettings());
    if (a.refused()) {
      refuse(a.refusedFor(), simpleQuery);
      return false;
    }
    if (a.pinnedFor() != null) {
      ctx.stats().pins.increment();
      ConnLog.throttled(
          ctx.logThrottle(),
          Level.INFO,
          log,
          id,
          "client pinned to its backend for the rest of its session",
          "{} ({})",
          a.pinnedFor(),
          server);
    }
    return true;
  }

  private void refuse(String reason, boolean simpleQuery) {
    ctx.stats().rejections.increment();
    String message = SessionStateGate.refusal(reason);
    if (!simpleQuery) {
      synthesizeError(
          ErrorResponse.of(
              Severity.ERROR, SqlState.FEATURE_NOT_SUPPORTED.code(), message, null, null));
      return;
    }
    // Sluice's error first, then a query that fails on the backend in its place, so that the
    // ReadyForQuery the client gets reports what PostgreSQL would (a failed block stays failed).
    expected.add(
        Expected.error(
            ErrorResponse.of(
                Severity.ERROR,
                SqlState.FEATURE_NOT_SUPPORTED.code(),
                message,
                null,
                "Use session pooling for this client, or transaction-scoped forms such as SET"
                    + " LOCAL and pg_advisory_xact_lock.")));
    ByteBuf out = channel.alloc().buffer(32);
    new Query(REFUSED_SQL).encode(out);
    sendOwn(out, Expected.REJECTED_QUERY);
    emitSynthetic();
  }

  /**
   * {@code DEALLOCATE name} of one of the client's own protocol-level statements: a server-side
   * name the backend does not know by the client's name, so Sluice answers it.
   */
  private boolean answeredLocally(Classification c, String sql) {
    String name = SessionStateGate.ownDeallocate(c, sql, statements::has);
    if (name == null) {
      return false;
    }
    statements.remove(name);
    expected.add(Expected.commandComplete("DEALLOCATE"));
    expected.add(Expected.SYNTH_READY);
    emitSynthetic();
    return true;
  }

  /** A statement that cleared state went through: keep Sluice's bookkeeping true to it. */
  private void onCommandComplete(Frame f) {
    int len = f.size();
    // Only "DISCARD ALL" (12 bytes with its NUL) and "DEALLOCATE ALL" (15) matter; skip the rest
    // without decoding.
    if (!mapStatements || server == null || (len != 5 + 12 && len != 5 + 15)) {
      return;
    }
    String tag = CommandComplete.decode(f.body()).tag();
    if (tag.equals("DISCARD ALL")) {
      statements.clear();
      params.resetToStartup();
      server.applied.clear();
      server.statements().clear();
      gate.discardAll();
    } else if (tag.equals("DEALLOCATE ALL")) {
      statements.clear();
      server.statements().clear();
    }
  }

  // ---- running a batch again after a schema change ----

  /** PostgreSQL's 0A000 "cached plan must not change result type" for a client's statement. */
  private boolean isStalePlan(Frame f, Expected head) {
    return head.kind() == Expected.Kind.BIND
        && head.key() != null
        && server != null
        && RetryBatch.isStalePlan(ErrorResponse.decode(f.body()));
  }

  /**
   * The failed batch has ended (its Sync answered {@code status}). When the failure left no
   * transaction behind and nothing else is in flight, send the whole batch again: the stale
   * statement was dropped, so it is prepared afresh on the way.
   */
  private boolean retryBatch(ReadyForQuery status) {
    List<Frame> again = retry.takeForRetry(status == ReadyForQuery.IDLE && expected.isEmpty());
    if (again == null) {
      return false;
    }
    ctx.stats().retries.increment();
    ConnLog.debug(log, id, "statement plan changed under a schema change: running the batch again");
    replaying = true;
    try {
      for (Frame f : again) {
        forward(f);
      }
    } finally {
      replaying = false;
    }
    server.flush();
    wroteToServer = false;
    return true;
  }

  // ---- responses from the backend ----

  @Override
  public void onServerFrames(ServerConnection s, List<Frame> frames) {
    if (channel.eventLoop().inEventLoop()) {
      handleServerFrames(s, frames);
    } else {
      channel.eventLoop().execute(() -> handleServerFrames(s, frames));
    }
  }

  @Override
  public void onServerWritable(ServerConnection s) {
    channel
        .eventLoop()
        .execute(
            () -> {
              if (s == server) {
                updateReading();
              }
            });
  }

  @Override
  public void onServerClosed(ServerConnection s) {
    channel.eventLoop().execute(() -> serverClosed(s));
  }

  private void handleServerFrames(ServerConnection s, List<Frame> frames) {
    for (Frame f : frames) {
      if (s != server || state == State.CLOSED) {
        f.release();
        continue;
      }
      try {
        onServerFrame(s, f);
      } catch (RuntimeException e) {
        ConnLog.warn(log, id, "bad message from server {}: {}", s, SafeErrors.describe(e));
        s.close("undecodable message");
      }
    }
    if (state != State.CLOSED) {
      channel.flush();
      if (server != null && !channel.isWritable()) {
        server.setAutoRead(false);
      }
    }
  }

  private void onServerFrame(ServerConnection s, Frame f) {
    BackendType type = f.isRun() ? BackendType.DATA_ROW : BackendType.of(f.type());
    switch (type) {
      case PARAMETER_STATUS -> {
        relayParameterStatus(s, f);
        return;
      }
      case NOTICE_RESPONSE, NOTIFICATION_RESPONSE -> {
        if (hidden(expected.peek())) {
          f.release();
        } else {
          toClient(f);
        }
        return;
      }
      default -> {}
    }
    Expected head = expected.peek();
    if (head == null) {
      // Nothing outstanding: a server's goodbye (FATAL) or something it volunteered.
      if (type == BackendType.ERROR_RESPONSE && ErrorResponse.decode(f.body()).isFatal()) {
        serverFatalRelayed = true;
      }
      toClient(f);
      return;
    }
    switch (head.kind()) {
      case QUERY, FUNCTION_CALL -> onQueryResponse(f, type);
      case SETTINGS -> onSettingsResponse(f, type);
      case REJECTED_QUERY -> onRejectedQueryResponse(f, type);
      case CAPTURE -> onCaptureResponse(f, type, head);
      case SYNC, HIDDEN_SYNC -> onSyncResponse(f, type, head);
      default -> onExtendedResponse(f, type, head);
    }
  }

  private static boolean hidden(Expected e) {
    return e != null
        && (e.kind() == Expected.Kind.SETTINGS
            || e.kind() == Expected.Kind.HIDDEN_CLOSE
            || e.kind() == Expected.Kind.HIDDEN_SYNC
            || e.kind() == Expected.Kind.CAPTURE
            || e.kind() == Expected.Kind.REJECTED_QUERY);
  }

  /** The query failing in place of a refused one: only its ReadyForQuery reaches the client. */
  private void onRejectedQueryResponse(Frame f, BackendType type) {
    if (type != BackendType.READY_FOR_QUERY) {
      f.release();
      return;
    }
    expected.poll();
    toClient(f);
    afterReady(ReadyForQuery.ofFrame(f.buf()));
  }

  /** The read-back of tracked settings: values recorded, everything hidden. */
  private void onCaptureResponse(Frame f, BackendType type, Expected head) {
    try {
      if (type == BackendType.DATA_ROW && server != null) {
        List<String> values = DataRows.firstRowText(f.buf());
        List<String> names = head.names();
        for (int i = 0; i < names.size() && i < values.size(); i++) {
          if (values.get(i) != null) {
            params.record(names.get(i), values.get(i), server.applied);
          }
        }
      } else if (type == BackendType.READY_FOR_QUERY) {
        expected.poll();
        afterReady(ReadyForQuery.ofFrame(f.buf()));
      }
    } finally {
      f.release();
    }
  }

  /** A simple Query or FunctionCall: everything is the client's, up to its ReadyForQuery. */
  private void onQueryResponse(Frame f, BackendType type) {
    switch (type) {
      case COPY_IN_RESPONSE -> copyIn = true;
      case COMMAND_COMPLETE -> onCommandComplete(f);
      case ERROR_RESPONSE -> {
        // After an error the server has left COPY IN and ignores further CopyData.
        copyIn = false;
        noteFatal(f);
      }
      case READY_FOR_QUERY -> {
        expected.poll();
        toClient(f);
        afterReady(ReadyForQuery.ofFrame(f.buf()));
        return;
      }
      default -> {}
    }
    toClient(f);
  }

  private void onSyncResponse(Frame f, BackendType type, Expected head) {
    if (type != BackendType.READY_FOR_QUERY) {
      // Only COPY traffic or an error can precede a Sync's ReadyForQuery; it is the client's.
      if (type == BackendType.ERROR_RESPONSE) {
        noteFatal(f);
      }
      toClient(f);
      return;
    }
    expected.poll();
    ReadyForQuery status = ReadyForQuery.ofFrame(f.buf());
    if (head.kind() == Expected.Kind.HIDDEN_SYNC) {
      f.release();
    } else if (retry.holdsError() && retryBatch(status)) {
      f.release();
      return;
    } else {
      Frame held = retry.takeError();
      if (held != null) {
        toClient(held);
      }
      toClient(f);
      retry.drop();
    }
    afterReady(status);
  }

  private void onExtendedResponse(Frame f, BackendType type, Expected head) {
    if (type == BackendType.ERROR_RESPONSE) {
      onExtendedError(f, head);
      return;
    }
    boolean done =
        switch (head.kind()) {
          case DESCRIBE_STATEMENT -> type != BackendType.PARAMETER_DESCRIPTION;
          case EXECUTE -> {
            if (type == BackendType.COPY_IN_RESPONSE) {
              copyIn = true;
            } else if (type == BackendType.COMMAND_COMPLETE) {
              onCommandComplete(f);
            }
            yield type == BackendType.COMMAND_COMPLETE
                || type == BackendType.EMPTY_QUERY_RESPONSE
                || type == BackendType.PORTAL_SUSPENDED;
          }
          default -> true;
        };
    if (done) {
      expected.poll();
    }
    if (type == BackendType.PARSE_COMPLETE && head.key() != null) {
      pool.rememberStatement(head.key());
    }
    switch (head.kind()) {
      case HIDDEN_PARSE, HIDDEN_CLOSE, HIDDEN_FAIL -> f.release();
      default -> toClient(f);
    }
    if (done) {
      emitSynthetic();
    }
  }

  /**
   * An error answers the head request; the backend now skips everything up to the next Sync, and so
   * do we: those requests will get no answer.
   */
  private void onExtendedError(Frame f, Expected head) {
    copyIn = false;
    boolean stale = isStalePlan(f, head);
    if (stale) {
      // The server's copy of the statement no longer fits its tables: whoever uses it next, on
      // this backend, gets it prepared afresh.
      server.statements().discard(head.key());
    }
    // A stale plan in a batch that can run again is held back: the client never sees it.
    if (!stale || !retry.hold(f)) {
      switch (head.kind()) {
        case HIDDEN_CLOSE, HIDDEN_FAIL -> f.release();
        default -> {
          noteFatal(f);
          toClient(f);
        }
      }
    }
    Expected e = expected.poll();
    undo(e);
    while ((e = expected.peek()) != null && !e.kind().sync()) {
      expected.poll();
      undo(e);
    }
    if (expected.isEmpty() && extendedOpen) {
      discardUntilSync = true;
    }
  }

  /**
   * A request that failed or was skipped had no effect: a Parse created no statement (neither the
   * client's name nor, unless the backend already had it, the server-side one), and a client's
   * Close closed nothing.
   */
  private void undo(Expected e) {
    if (e == null || e.key() == null) {
      return;
    }
    switch (e.kind()) {
      case PARSE, HIDDEN_PARSE -> {
        if (server != null) {
          server.statements().remove(e.key());
        }
        forgetClientName(e);
      }
      case SYNTH_PARSE_COMPLETE -> forgetClientName(e);
      case SYNTH_CLOSE_COMPLETE -> statements.restore(e.clientName(), e.key());
      default -> {}
    }
  }

  private void forgetClientName(Expected e) {
    statements.forget(e.clientName(), e.key());
  }

  /** Sends what Sluice owes the client once everything before it has been answered. */
  private void emitSynthetic() {
    Expected e;
    boolean ready = false;
    while ((e = expected.peek()) != null && e.kind().synthetic()) {
      expected.poll();
      ByteBuf out = channel.alloc().buffer(e.error() == null ? 16 : 128);
      switch (e.kind()) {
        case SYNTH_PARSE_COMPLETE -> out.writeByte(BackendType.PARSE_COMPLETE.code()).writeInt(4);
        case SYNTH_CLOSE_COMPLETE -> out.writeByte(BackendType.CLOSE_COMPLETE.code()).writeInt(4);
        case SYNTH_COMMAND_COMPLETE -> new CommandComplete(e.names().get(0)).encode(out);
        case SYNTH_READY -> {
          txStatus.encode(out);
          owed.answered(System.nanoTime());
          ready = true;
        }
        default -> e.error().encode(out);
      }
      channel.write(out, channel.voidPromise());
      retry.markVisible();
      wroteToClient = true;
    }
    if (ready) {
      releaseIfDone();
    }
  }

  /** Responses to the settings query; all hidden. */
  private void onSettingsResponse(Frame f, BackendType type) {
    try {
      if (type == BackendType.ERROR_RESPONSE) {
        settingsError = ErrorResponse.decode(f.body());
      } else if (type == BackendType.READY_FOR_QUERY) {
        expected.poll();
        holdForSettings = false;
        if (settingsError != null) {
          // A setting the server refuses (settings are checked at login, so this is rare): what
          // PostgreSQL would have said at login. The backend's settings are not what its
          // bookkeeping says, so it is closed rather than handed to the next client.
          ServerConnection s = server;
          server = null;
          pool.release(s, false, "settings sync failed");
          closer.close(CloseReason.LOGIN_FAILED, SessionErrors.asFatal(settingsError));
          return;
        }
        drainQueue();
        server.flush();
        wroteToServer = false;
        updateReading();
      }
    } finally {
      f.release();
    }
  }

  private void relayParameterStatus(ServerConnection s, Frame f) {
    ParameterStatus ps = ParameterStatus.decode(f.body());
    if (params.onReported(ps.name(), ps.value(), s.applied)) {
      toClient(f);
    } else {
      f.release();
    }
  }

  private void noteFatal(Frame f) {
    if (ErrorResponse.decode(f.body()).isFatal()) {
      serverFatalRelayed = true;
    }
  }

  private void afterReady(ReadyForQuery status) {
    txStatus = status;
    if (status == ReadyForQuery.IDLE
        && expected.isEmpty()
        && server != null
        && gate.takeResetAll()) {
      // RESET ALL returned the backend to its own defaults; the client's own session settings
      // (its startup values) are replayed on the next backend it gets.
      params.resetToStartup();
      server.applied.clear();
    }
    emitSynthetic();
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
        || txStatus != ReadyForQuery.IDLE
        || !expected.isEmpty()
        || extendedOpen
        || copyIn) {
      return false;
    }
    List<String> names = gate.takeCaptures();
    String sql = SessionStateGate.captureQuery(names);
    ByteBuf out = channel.alloc().buffer(sql.length() + 8);
    new Query(sql).encode(out);
    server.write(out);
    server.flush();
    expected.add(Expected.capture(names));
    return true;
  }

  private void releaseIfDone() {
    if (server == null
        || ctx.config().poolMode() != PoolMode.TRANSACTION
        || gate.pinned()
        || txStatus != ReadyForQuery.IDLE
        || !expected.isEmpty()
        || extendedOpen
        || copyIn
        || !queue.isEmpty()) {
      return;
    }
    if (owed.owed() != 0) {
      // Nothing is in flight, yet the client waits for an answer: it would never come.
      ctx.stats().bugs.increment();
      ConnLog.throttled(
          ctx.logThrottle(),
          Level.ERROR,
          log,
          id,
          "BUG: backend released while the client still waits",
          "{}",
          describeIfStalled(0));
    }
    ServerConnection s = server;
    server = null;
    state = State.IDLE;
    pool.release(s, true, "transaction done");
  }

  private void serverClosed(ServerConnection s) {
    if (s != server || state == State.CLOSED) {
      return;
    }
    server = null;
    expected.clear();
    if (serverFatalRelayed) {
      closer.close(CloseReason.SERVER_FATAL, null);
      return;
    }
    closer.close(
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

  // ---- failures before a backend was had ----

  /** The backend could not be had: answer each queued request with the error, as a server would. */
  private void failQueued(Throwable failure) {
    state = State.IDLE;
    ErrorResponse err = SessionErrors.forSession(failure);
    if (err.isFatal()) {
      closer.close(CloseReason.SHUTDOWN, err);
      return;
    }
    boolean errorSent = false;
    Frame f;
    while ((f = queue.poll()) != null) {
      byte t = f.type();
      boolean run = f.isRun();
      f.release();
      if (t == FrontendType.QUERY.code() || t == FrontendType.FUNCTION_CALL.code()) {
        writeError(err);
        writeReady(ReadyForQuery.IDLE);
        errorSent = false;
      } else if (t == FrontendType.SYNC.code()) {
        if (!errorSent) {
          writeError(err);
        }
        writeReady(ReadyForQuery.IDLE);
        errorSent = false;
      } else if (!errorSent && !run) {
        writeError(err);
        errorSent = true;
      }
    }
    unlinkedSkip = errorSent;
    channel.flush();
    updateReading();
  }

  // ---- cancel ----

  void requestCancel() {
    if (state == State.LINKED && server != null) {
      ctx.cancelForwarder().forward(server);
    } else if (state == State.WAITING) {
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
  void close() {
    state = State.CLOSED;
    retry.close();
    if (pending != null) {
      pending.cancel();
      pending = null;
    }
    queue.forEach(Frame::release);
    queue.clear();
    ServerConnection s = server;
    server = null;
    if (s == null) {
      return;
    }
    boolean quiet = expected.isEmpty() && !extendedOpen && !copyIn && !holdForSettings;
    if (!quiet || !s.isOpen()) {
      pool.release(s, false, "client left with a request in flight");
      return;
    }
    if (gate.unresettable()) {
      pool.release(s, false, "a library was loaded into it (LOAD cannot be undone)");
      return;
    }
    List<String> queries = new ArrayList<>(2);
    if (txStatus != ReadyForQuery.IDLE) {
      queries.add("ROLLBACK");
    }
    boolean sessionState = ctx.config().poolMode() == PoolMode.SESSION || gate.pinned();
    String reset = ctx.config().serverResetQuery();
    if (sessionState) {
      queries.add(reset.isEmpty() && gate.pinned() ? "DISCARD ALL" : reset);
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
        state != State.CLOSED
            && state != State.WAITING
            && !holdForSettings
            && (server == null || server.channel().isWritable());
    readGate.session(want);
  }

  private void toClient(Frame f) {
    retry.markVisible();
    if (f.type() == BackendType.READY_FOR_QUERY.code()) {
      owed.answered(System.nanoTime());
    }
    channel.write(f.buf(), channel.voidPromise());
  }

  private void writeError(ErrorResponse err) {
    ByteBuf out = channel.alloc().buffer(128);
    err.encode(out);
    channel.write(out, channel.voidPromise());
    wroteToClient = true;
  }

  private void writeReady(ReadyForQuery status) {
    owed.answered(System.nanoTime());
    ByteBuf out = channel.alloc().buffer(6);
    status.encode(out);
    channel.write(out, channel.voidPromise());
  }
}
