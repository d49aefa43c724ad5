package dev.sluice.server;

import dev.sluice.config.PoolMode;
import dev.sluice.error.SafeErrors;
import dev.sluice.error.ServerErrorException;
import dev.sluice.error.Severity;
import dev.sluice.error.SluiceException;
import dev.sluice.error.SqlState;
import dev.sluice.pool.ConnectionPool;
import dev.sluice.protocol.BackendType;
import dev.sluice.protocol.Codec;
import dev.sluice.protocol.Frame;
import dev.sluice.protocol.FrontendType;
import dev.sluice.protocol.ProtocolCodes;
import dev.sluice.protocol.backend.Authentication;
import dev.sluice.protocol.backend.BackendKeyData;
import dev.sluice.protocol.backend.ErrorResponse;
import dev.sluice.protocol.backend.NegotiateProtocolVersion;
import dev.sluice.protocol.backend.ParameterStatus;
import dev.sluice.protocol.backend.ReadyForQuery;
import dev.sluice.protocol.frontend.CancelRequest;
import dev.sluice.protocol.frontend.Query;
import dev.sluice.protocol.frontend.StartupMessage;
import dev.sluice.session.SessionParameters;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderException;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client connection and its session: the client-side state machine.
 *
 * <pre>
 *   STARTUP ──StartupMessage──► AUTHENTICATING ──auth ok──► LOGGING_IN ──► IDLE
 *      │ SSLRequest → 'N'                                      (server settings known)
 *      │ CancelRequest → forwarded, closed
 *   IDLE ──first message──► WAITING (messages queued, acquire pending) ──backend──► LINKED
 *   LINKED ──ReadyForQuery('I'), nothing outstanding (transaction mode)──► IDLE
 *   any ──Terminate / EOF / fatal error──► CLOSED
 * </pre>
 *
 * <p>Everything here runs on the client's event loop, including the handling of the linked
 * backend's frames (handed over per read by {@link ServerConnection}), so the bookkeeping of
 * outstanding requests needs no locks. A backend is released in transaction mode only when its last
 * ReadyForQuery said idle, every Query/Sync/FunctionCall sent has had its ReadyForQuery, no
 * extended-protocol batch is open without its Sync and no COPY IN is in progress.
 */
final class ClientConnection extends ChannelInboundHandlerAdapter implements ServerConnection.Sink {
  private static final Logger log = LoggerFactory.getLogger(ClientConnection.class);
  private static final AtomicLong IDS = new AtomicLong();

  /** PostgreSQL's authentication_timeout default. */
  private static final long LOGIN_TIMEOUT_SECONDS = 60;

  enum State {
    STARTUP,
    AUTHENTICATING,
    LOGGING_IN,
    IDLE,
    WAITING,
    LINKED,
    CLOSED
  }

  private final ProxyContext ctx;
  private final String id = "c" + IDS.incrementAndGet();
  private final long createdNanos = System.nanoTime();
  private final ArrayDeque<Frame> queue = new ArrayDeque<>();
  private Channel channel;
  private State state = State.STARTUP;
  private boolean counted;
  private ScheduledFuture<?> loginTimer;

  private String user;
  private String database;
  private SessionParameters params;
  private ClientLogin login;
  private ServerPool pool;
  private BackendKeyData cancelKey;

  private ServerConnection server;
  private ConnectionPool.Pending pending;
  private int pendingSyncs;
  private boolean extendedOpen;
  private boolean copyIn;
  private boolean syncingParams;
  private ErrorResponse syncError;
  private boolean skipUntilSync;
  private boolean wroteToServer;
  private boolean serverFatalRelayed;
  private String pinnedBecause;
  private ReadyForQuery txStatus = ReadyForQuery.IDLE;

  ClientConnection(ProxyContext ctx) {
    this.ctx = ctx;
  }

  BackendKeyData cancelKey() {
    return cancelKey;
  }

  // ---- Netty events ----

  @Override
  public void channelActive(ChannelHandlerContext c) {
    channel = c.channel();
    counted = true;
    ctx.clientOpened();
    loginTimer =
        channel.eventLoop().schedule(this::loginTimedOut, LOGIN_TIMEOUT_SECONDS, TimeUnit.SECONDS);
  }

  @Override
  public void channelRead(ChannelHandlerContext c, Object msg) {
    Frame f = (Frame) msg;
    try {
      switch (state) {
        case STARTUP -> onStartup(f);
        case AUTHENTICATING -> onAuthMessage(f);
        case IDLE, WAITING, LINKED -> onMessage(f);
        case LOGGING_IN ->
            throw SluiceException.protocolViolation("unexpected message before login completed");
        case CLOSED -> f.release();
      }
    } catch (SluiceException | ServerErrorException e) {
      fail(e);
    }
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext c) {
    if (wroteToServer && server != null) {
      wroteToServer = false;
      server.flush();
      if (!server.channel().isWritable()) {
        updateReading();
      }
    }
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext c) {
    if (channel.isWritable() && server != null) {
      server.setAutoRead(true);
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext c) {
    if (state != State.CLOSED) {
      transitionToClosed(CloseReason.CLIENT_EOF, null);
    }
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext c, Throwable cause) {
    Throwable t =
        cause instanceof DecoderException && cause.getCause() != null ? cause.getCause() : cause;
    if (t instanceof SluiceException || t instanceof ServerErrorException) {
      fail(t);
    } else if (t instanceof IOException) {
      ConnLog.debug(log, id, "client connection error: {}", SafeErrors.describe(t));
      close(CloseReason.IO_ERROR, null);
    } else {
      ConnLog.warn(log, id, "internal error: {}", SafeErrors.describe(t));
      close(
          CloseReason.INTERNAL_ERROR,
          ErrorResponse.of(
              Severity.FATAL,
              SqlState.INTERNAL_ERROR.code(),
              "internal error in Sluice; see its log for connection " + id,
              null,
              null));
    }
  }

  // ---- startup and login ----

  private void onStartup(Frame f) {
    ByteBuf body = f.body();
    try {
      int code = body.getInt(body.readerIndex());
      if (code == ProtocolCodes.SSL_REQUEST_CODE || code == ProtocolCodes.GSSENC_REQUEST_CODE) {
        // No TLS or GSS encryption yet: 'N' tells the client to go on in plain text.
        channel.writeAndFlush(channel.alloc().buffer(1).writeByte('N'), channel.voidPromise());
        return;
      }
      if (code == ProtocolCodes.CANCEL_REQUEST_CODE) {
        CancelRequest r = CancelRequest.decode(body);
        ClientConnection target = ctx.cancels().find(r.processId(), r.secretKey());
        if (target != null) {
          target.requestCancel();
        }
        close(CloseReason.CANCEL_REQUEST, null);
        return;
      }
      onStartupMessage(StartupMessage.decode(body));
    } finally {
      f.release();
    }
  }

  private void onStartupMessage(StartupMessage m) {
    if (m.majorVersion() != 3) {
      throw SluiceException.fatal(
          SqlState.FEATURE_NOT_SUPPORTED,
          "unsupported frontend protocol "
              + m.majorVersion()
              + "."
              + m.minorVersion()
              + ": server supports 3.0 to 3.0");
    }
    if (ctx.clientCount() > ctx.config().maxClientConnections()) {
      close(
          CloseReason.TOO_MANY_CLIENTS,
          new SluiceException(
                  SqlState.TOO_MANY_CONNECTIONS,
                  Severity.FATAL,
                  "sorry, too many clients already",
                  "Sluice accepts at most "
                      + ctx.config().maxClientConnections()
                      + " client connections (--max-client-connections).",
                  null,
                  null)
              .toErrorResponse());
      return;
    }
    Map<String, String> p = m.parameters();
    String replication = p.get("replication");
    if (replication != null && !List.of("false", "off", "no", "0").contains(replication)) {
      throw SluiceException.fatal(
          SqlState.FEATURE_NOT_SUPPORTED, "replication connections are not supported by Sluice");
    }
    user = p.get("user");
    if (user == null || user.isEmpty()) {
      throw SluiceException.fatal(
          SqlState.INVALID_AUTHORIZATION_SPECIFICATION,
          "no PostgreSQL user name specified in startup packet");
    }
    String db = p.get("database");
    database = db == null || db.isEmpty() ? user : db;
    params = SessionParameters.fromStartup(p);
    List<String> protocolOptions = p.keySet().stream().filter(k -> k.startsWith("_pq_.")).toList();
    if (m.minorVersion() > 0 || !protocolOptions.isEmpty()) {
      ByteBuf out = channel.alloc().buffer();
      new NegotiateProtocolVersion(0, protocolOptions).encode(out);
      channel.write(out, channel.voidPromise());
    }
    login = ctx.newLogin(user);
    ByteBuf out = channel.alloc().buffer(32);
    login.begin(out);
    channel.writeAndFlush(out, channel.voidPromise());
    state = State.AUTHENTICATING;
  }

  private void onAuthMessage(Frame f) {
    try {
      if (f.type() != FrontendType.PASSWORD.code()) {
        throw ClientLogin.unexpected(f.type());
      }
      ByteBuf out = channel.alloc().buffer(128);
      boolean done;
      try {
        done = login.onMessage(f.body(), out);
      } catch (RuntimeException e) {
        out.release();
        throw e;
      }
      channel.write(out, channel.voidPromise());
      if (done) {
        login = null;
        onAuthenticated();
      } else {
        channel.flush();
      }
    } finally {
      f.release();
    }
  }

  private void onAuthenticated() {
    state = State.LOGGING_IN;
    pool = ctx.pools().get(new PoolKey(database, user));
    if (pool.serverDefaults() != null) {
      finishLogin();
      return;
    }
    // First client of this pool: one backend login tells us what the server reports (and
    // whether the database exists at all, so a wrong name fails here with the server's error).
    pool.pool()
        .acquire(
            channel.eventLoop(),
            channel.eventLoop(),
            channel.eventLoop(),
            (s, e) -> {
              if (s != null) {
                pool.release(s, true, "login probe");
              }
              if (state != State.LOGGING_IN) {
                return;
              }
              if (e != null) {
                fail(e);
              } else {
                finishLogin();
              }
            });
  }

  private void finishLogin() {
    cancelKey = ctx.cancels().register(this);
    ByteBuf out = channel.alloc().buffer(512);
    Authentication.encodeOk(out);
    params
        .initialReport(pool.serverDefaults())
        .forEach((k, v) -> new ParameterStatus(k, v).encode(out));
    cancelKey.encode(out);
    ReadyForQuery.IDLE.encode(out);
    channel.writeAndFlush(out, channel.voidPromise());
    loginTimer.cancel(false);
    state = State.IDLE;
    ConnLog.debug(
        log, id, "client logged in to {} in {} ms", pool.key(), ConnLog.ageMillis(createdNanos));
  }

  private void loginTimedOut() {
    if (state.compareTo(State.IDLE) < 0) {
      close(
          CloseReason.LOGIN_FAILED,
          SluiceException.fatal(
                  SqlState.CONNECTION_FAILURE, "canceling authentication due to timeout")
              .toErrorResponse());
    }
  }

  // ---- messages after login ----

  private void onMessage(Frame f) {
    byte t = f.type();
    if (t == FrontendType.TERMINATE.code()) {
      f.release();
      close(CloseReason.CLIENT_TERMINATE, null);
      return;
    }
    if (!f.isRun() && !isSessionMessage(t)) {
      f.release();
      throw SluiceException.protocolViolation("invalid frontend message type " + (int) t);
    }
    if (server == null && queue.isEmpty() && (skipUntilSync || isCopyStray(f))) {
      // Left over after a failed batch or a COPY that already ended: the server would
      // ignore it too (see the protocol's COPY and error-recovery rules).
      f.release();
      if (skipUntilSync && t == FrontendType.SYNC.code()) {
        skipUntilSync = false;
        writeReady();
      }
      return;
    }
    if (state == State.LINKED && !syncingParams && queue.isEmpty()) {
      forward(f);
      return;
    }
    queue.add(f);
    if (state == State.IDLE) {
      startAcquire();
    }
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
      syncingParams = true;
      syncError = null;
      ByteBuf out = channel.alloc().buffer(sync.length() + 8);
      new Query(sync).encode(out);
      s.write(out);
    }
    drainQueue();
    s.flush();
    updateReading();
  }

  private void drainQueue() {
    Frame f;
    while (!syncingParams && server != null && (f = queue.poll()) != null) {
      forward(f);
    }
  }

  private void forward(Frame f) {
    switch (FrontendType.of(f.type())) {
      case QUERY, FUNCTION_CALL -> pendingSyncs++;
      case SYNC -> {
        // The server ignores Sync while in COPY IN, and answers it with no ReadyForQuery.
        if (!copyIn) {
          pendingSyncs++;
          extendedOpen = false;
        }
      }
      case PARSE -> {
        extendedOpen = true;
        pinIfNamed(f);
      }
      case BIND, DESCRIBE, EXECUTE, CLOSE -> extendedOpen = true;
      case COPY_DONE, COPY_FAIL -> copyIn = false;
      default -> {}
    }
    server.write(f.buf());
    wroteToServer = true;
  }

  /**
   * A named server-side statement lives on one backend. Until statements are mapped across
   * backends, a transaction-mode client that creates one keeps its backend for the rest of its
   * session (as session mode would), so a later Bind can never reach a backend that lacks the
   * statement or holds another client's statement of the same name.
   */
  private void pinIfNamed(Frame f) {
    if (pinnedBecause != null || ctx.config().poolMode() != PoolMode.TRANSACTION) {
      return;
    }
    String name = Codec.readCString(f.body());
    if (!name.isEmpty()) {
      pinnedBecause = "named prepared statement";
      ConnLog.info(
          log,
          id,
          "client pinned to backend {} for the rest of its session: {}",
          server,
          pinnedBecause);
    }
  }

  /** The backend could not be had: answer each queued request with the error, as a server would. */
  private void failQueued(Throwable failure) {
    state = State.IDLE;
    ErrorResponse err = asSessionError(failure);
    if (err.isFatal()) {
      close(CloseReason.LOGIN_FAILED, err);
      return;
    }
    boolean errorSent = false;
    Frame f;
    while ((f = queue.poll()) != null) {
      byte t = f.type();
      f.release();
      if (t == FrontendType.QUERY.code() || t == FrontendType.FUNCTION_CALL.code()) {
        writeError(err);
        writeReadyNoFlush();
        errorSent = false;
      } else if (t == FrontendType.SYNC.code()) {
        if (!errorSent) {
          writeError(err);
        }
        writeReadyNoFlush();
        errorSent = false;
      } else if (!errorSent && !f.isRun()) {
        writeError(err);
        errorSent = true;
      }
    }
    skipUntilSync = errorSent;
    channel.flush();
    updateReading();
  }

  /** A failure to get a backend, as this still-usable session's error. */
  private static ErrorResponse asSessionError(Throwable failure) {
    if (failure instanceof ServerErrorException se) {
      // The server refused a new backend connection (for example it is at max_connections):
      // its code and message, but the client's own session lives on.
      var fields = new java.util.LinkedHashMap<>(se.error().fields());
      fields.put(ErrorResponse.SEVERITY, "ERROR");
      fields.put(ErrorResponse.SEVERITY_V, "ERROR");
      return new ErrorResponse(fields);
    }
    if (failure instanceof SluiceException e) {
      if (e.state() == SqlState.ADMIN_SHUTDOWN) {
        return e.toErrorResponse();
      }
      return ErrorResponse.of(
          Severity.ERROR,
          e.state().code(),
          e.getMessage(),
          e.toErrorResponse().fields().get(ErrorResponse.DETAIL),
          e.toErrorResponse().fields().get(ErrorResponse.HINT));
    }
    return ErrorResponse.of(
        Severity.ERROR,
        SqlState.CONNECTION_FAILURE.code(),
        "could not get a backend connection: " + SafeErrors.describe(failure),
        null,
        null);
  }

  // ---- frames from the linked backend ----

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
        if (syncingParams) {
          onSyncFrame(s, f);
        } else {
          relay(s, f);
        }
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

  private void relay(ServerConnection s, Frame f) {
    switch (BackendType.of(f.type())) {
      case READY_FOR_QUERY -> {
        txStatus = ReadyForQuery.ofFrame(f.buf());
        if (pendingSyncs > 0) {
          pendingSyncs--;
        }
        channel.write(f.buf(), channel.voidPromise());
        releaseIfDone();
      }
      case PARAMETER_STATUS -> relayParameterStatus(s, f);
      case COPY_IN_RESPONSE -> {
        copyIn = true;
        channel.write(f.buf(), channel.voidPromise());
      }
      case ERROR_RESPONSE -> {
        // After an error the server has left COPY IN mode and ignores further CopyData.
        copyIn = false;
        if (ErrorResponse.decode(f.body()).isFatal()) {
          serverFatalRelayed = true;
        }
        channel.write(f.buf(), channel.voidPromise());
      }
      case AUTHENTICATION, BACKEND_KEY_DATA -> f.release();
      default -> channel.write(f.buf(), channel.voidPromise());
    }
  }

  private void relayParameterStatus(ServerConnection s, Frame f) {
    ParameterStatus ps = ParameterStatus.decode(f.body());
    if (params.onReported(ps.name(), ps.value(), s.applied)) {
      channel.write(f.buf(), channel.voidPromise());
    } else {
      f.release();
    }
  }

  /** Responses to the settings query run before the client's own messages; swallowed. */
  private void onSyncFrame(ServerConnection s, Frame f) {
    byte t = f.type();
    if (t == BackendType.PARAMETER_STATUS.code()) {
      relayParameterStatus(s, f);
      return;
    }
    try {
      if (t == BackendType.ERROR_RESPONSE.code()) {
        syncError = ErrorResponse.decode(f.body());
      } else if (t == BackendType.READY_FOR_QUERY.code()) {
        syncingParams = false;
        if (syncError != null) {
          // A startup setting the server refuses: what PostgreSQL would have said at login.
          var fields = new java.util.LinkedHashMap<>(syncError.fields());
          fields.put(ErrorResponse.SEVERITY, "FATAL");
          fields.put(ErrorResponse.SEVERITY_V, "FATAL");
          close(CloseReason.LOGIN_FAILED, new ErrorResponse(fields));
          return;
        }
        drainQueue();
        s.flush();
        wroteToServer = false;
        updateReading();
      }
    } finally {
      f.release();
    }
  }

  private void releaseIfDone() {
    if (ctx.config().poolMode() != PoolMode.TRANSACTION
        || pinnedBecause != null
        || txStatus != ReadyForQuery.IDLE
        || pendingSyncs > 0
        || extendedOpen
        || copyIn
        || !queue.isEmpty()) {
      return;
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
    if (serverFatalRelayed) {
      close(CloseReason.SERVER_FATAL, null);
      return;
    }
    close(
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

  // ---- cancel ----

  /** A CancelRequest carrying this client's key arrived (on any thread). */
  void requestCancel() {
    channel
        .eventLoop()
        .execute(
            () -> {
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
            });
  }

  // ---- closing ----

  private void fail(Throwable t) {
    ErrorResponse err;
    CloseReason reason;
    if (t instanceof ServerErrorException se) {
      err = se.error();
      reason = CloseReason.LOGIN_FAILED;
    } else {
      SluiceException e = (SluiceException) t;
      err = e.toErrorResponse();
      reason =
          switch (e.state()) {
            case PROTOCOL_VIOLATION -> CloseReason.PROTOCOL_VIOLATION;
            case INVALID_PASSWORD, INVALID_AUTHORIZATION_SPECIFICATION ->
                CloseReason.AUTHENTICATION_FAILED;
            default -> CloseReason.LOGIN_FAILED;
          };
      if (e.severity() != Severity.FATAL) {
        var fields = new java.util.LinkedHashMap<>(err.fields());
        fields.put(ErrorResponse.SEVERITY, "FATAL");
        fields.put(ErrorResponse.SEVERITY_V, "FATAL");
        err = new ErrorResponse(fields);
      }
    }
    close(reason, err);
  }

  /** Sends {@code error} (if any), then closes the client and settles its backend. */
  private void close(CloseReason reason, ErrorResponse error) {
    if (state == State.CLOSED) {
      return;
    }
    if (error != null && channel.isActive()) {
      ByteBuf out = channel.alloc().buffer(128);
      error.encode(out);
      channel.writeAndFlush(out).addListener(ChannelFutureListener.CLOSE);
    } else {
      channel.close();
    }
    transitionToClosed(reason, error);
  }

  private void transitionToClosed(CloseReason reason, ErrorResponse error) {
    state = State.CLOSED;
    if (loginTimer != null) {
      loginTimer.cancel(false);
    }
    if (pending != null) {
      pending.cancel();
      pending = null;
    }
    queue.forEach(Frame::release);
    queue.clear();
    ServerConnection s = server;
    server = null;
    if (s != null) {
      abandon(s);
    }
    ctx.cancels().unregister(cancelKey, this);
    if (counted) {
      counted = false;
      ctx.clientClosed();
    }
    String what = error == null ? "" : ": " + error.summary();
    long age = ConnLog.ageMillis(createdNanos);
    if (reason.notable()) {
      ConnLog.info(log, id, "client closed ({}{}) after {} ms", reason, what, age);
    } else {
      ConnLog.debug(log, id, "client closed ({}) after {} ms", reason, age);
    }
  }

  /**
   * The client left while holding {@code s}. A backend with a request in flight is closed (its
   * answers could reach nobody, or the wrong client); an open transaction is rolled back; in
   * session mode the reset query runs. Only then does the backend return to the pool.
   */
  private void abandon(ServerConnection s) {
    boolean quiet = pendingSyncs == 0 && !extendedOpen && !copyIn && !syncingParams;
    if (!quiet || !s.isOpen()) {
      pool.release(s, false, "client left with a request in flight");
      return;
    }
    List<String> queries = new ArrayList<>(2);
    if (txStatus != ReadyForQuery.IDLE) {
      queries.add("ROLLBACK");
    }
    // A session-mode backend, or a pinned one, carries session state: reset it before reuse.
    boolean sessionState = ctx.config().poolMode() == PoolMode.SESSION || pinnedBecause != null;
    String reset = ctx.config().serverResetQuery();
    if (sessionState) {
      queries.add(reset.isEmpty() && pinnedBecause != null ? "DISCARD ALL" : reset);
    }
    queries.removeIf(String::isEmpty);
    boolean clears = sessionState && !queries.isEmpty();
    if (queries.isEmpty()) {
      pool.release(s, true, "client left");
    } else {
      pool.resetAndRelease(s, queries, clears);
    }
  }

  // ---- small helpers ----

  /** Reads from the client only when its messages can go somewhere. */
  private void updateReading() {
    boolean want =
        state != State.CLOSED
            && state != State.WAITING
            && !syncingParams
            && (server == null || server.channel().isWritable());
    if (channel.config().isAutoRead() != want) {
      channel.config().setAutoRead(want);
    }
  }

  private void writeError(ErrorResponse err) {
    ByteBuf out = channel.alloc().buffer(128);
    err.encode(out);
    channel.write(out, channel.voidPromise());
  }

  private void writeReadyNoFlush() {
    ByteBuf out = channel.alloc().buffer(6);
    ReadyForQuery.IDLE.encode(out);
    channel.write(out, channel.voidPromise());
  }

  private void writeReady() {
    writeReadyNoFlush();
    channel.flush();
  }

  @Override
  public String toString() {
    return id;
  }
}
