package dev.sluice.server;

import dev.sluice.config.TlsMode;
import dev.sluice.engine.ClientSession;
import dev.sluice.engine.ClientState;
import dev.sluice.engine.CloseReason;
import dev.sluice.engine.ReplayPolicy;
import dev.sluice.engine.SessionErrors;
import dev.sluice.error.SafeErrors;
import dev.sluice.error.ServerErrorException;
import dev.sluice.error.SluiceException;
import dev.sluice.error.SqlState;
import dev.sluice.logging.ConnLog;
import dev.sluice.logging.LogContext;
import dev.sluice.protocol.Frame;
import dev.sluice.protocol.FrameDecoder;
import dev.sluice.protocol.FrontendType;
import dev.sluice.protocol.ProtocolCodes;
import dev.sluice.protocol.ProtocolViolationException;
import dev.sluice.protocol.Severity;
import dev.sluice.protocol.backend.Authentication;
import dev.sluice.protocol.backend.BackendKeyData;
import dev.sluice.protocol.backend.ErrorResponse;
import dev.sluice.protocol.backend.NegotiateProtocolVersion;
import dev.sluice.protocol.backend.ParameterStatus;
import dev.sluice.protocol.backend.ReadyForQuery;
import dev.sluice.protocol.frontend.CancelRequest;
import dev.sluice.protocol.frontend.StartupMessage;
import dev.sluice.session.SessionParameters;
import dev.sluice.state.StateMachine;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderException;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

/**
 * One client connection: the startup phase and login, then a {@link ClientSession} for its traffic,
 * and the one place the connection closes.
 *
 * <pre>
 *   STARTUP ──StartupMessage──► AUTHENTICATING ──auth ok──► LOGGING_IN ──► READY
 *      │ SSLRequest / GSSENCRequest → 'N'                   (server settings known)
 *      │ CancelRequest → forwarded, closed
 *   any ──Terminate / EOF / fatal error──► CLOSED
 * </pre>
 */
final class ClientConnection extends ChannelInboundHandlerAdapter {
  private static final Logger log = LoggerFactory.getLogger(ClientConnection.class);
  private static final AtomicLong IDS = new AtomicLong();

  private final ProxyContext ctx;
  private final String id = "c" + IDS.incrementAndGet();

  /** The id, and the database and role once the startup packet named them. */
  private final LogContext logContext = LogContext.of(id);

  private final long createdNanos = System.nanoTime();
  private Channel channel;
  private final StateMachine<ClientState> machine =
      new StateMachine<>(ClientState.TABLE, ClientState.AWAITING_STARTUP);
  private boolean counted;
  private boolean pendingLogin;
  private boolean tls;
  private ReadGate readGate;
  private ScheduledFuture<?> loginTimer;

  private String user;
  private String database;
  private SessionParameters params;
  private ClientLogin login;
  private ServerPool pool;
  private BackendKeyData cancelKey;

  private ClientSession session;
  private AdminConsole console;

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
    readGate = new ReadGate(channel);
    pendingLogin = true;
    ClientConnection pushedOut = ctx.pendingLogins().add(this);
    if (pushedOut != null) {
      pushedOut.pushOut();
    }
    loginTimer =
        channel
            .eventLoop()
            .schedule(
                this::loginTimedOut,
                ctx.config().clientLoginTimeout().toNanos(),
                TimeUnit.NANOSECONDS);
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext c, Object evt) {
    if (evt instanceof FrameDecoder.ReadPause p) {
      readGate.memory(p == FrameDecoder.ReadPause.PAUSE);
    } else {
      c.fireUserEventTriggered(evt);
    }
  }

  @Override
  public void channelRead(ChannelHandlerContext c, Object msg) {
    Frame f = (Frame) msg;
    try {
      switch (machine.state()) {
        case AWAITING_STARTUP -> onStartup(f);
        case AUTHENTICATING -> onAuthMessage(f);
        case LOGGING_IN -> {
          f.release();
          throw SluiceException.protocolViolation("unexpected message before login completed");
        }
        case CLOSED -> f.release();
        default -> onMessage(f);
      }
    } catch (SluiceException | ServerErrorException | ProtocolViolationException e) {
      fail(e);
    }
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext c) {
    if (session != null) {
      session.onReadComplete();
    }
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext c) {
    if (channel.isWritable() && session != null) {
      session.onClientWritable();
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext c) {
    if (!machine.is(ClientState.CLOSED)) {
      transitionToClosed(CloseReason.CLIENT_EOF, null);
    }
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext c, Throwable cause) {
    Throwable t =
        cause instanceof DecoderException && cause.getCause() != null ? cause.getCause() : cause;
    if (machine.is(ClientState.AWAITING_STARTUP) && isProtocolViolation(t)) {
      // Like PostgreSQL with a bad startup packet (a COMMERROR): logged, never answered. A client
      // that sends Terminate before its startup packet (node-postgres does) expects nothing back.
      ConnLog.debug(log, logContext, "invalid startup packet: {}", SafeErrors.describe(t));
      close(CloseReason.PROTOCOL_VIOLATION, null);
    } else if (t instanceof SluiceException
        || t instanceof ServerErrorException
        || t instanceof ProtocolViolationException) {
      fail(t);
    } else if (t instanceof IOException) {
      ConnLog.debug(log, logContext, "client connection error: {}", SafeErrors.describe(t));
      close(CloseReason.IO_ERROR, null);
    } else {
      ConnLog.warn(log, logContext, "internal error: {}", SafeErrors.describe(t));
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

  private static boolean isProtocolViolation(Throwable t) {
    return t instanceof ProtocolViolationException
        || (t instanceof SluiceException e && e.state() == SqlState.PROTOCOL_VIOLATION);
  }

  // ---- startup and login ----

  private void onStartup(Frame f) {
    ByteBuf body = f.body();
    try {
      int code = body.getInt(body.readerIndex());
      if (code == ProtocolCodes.SSL_REQUEST_CODE && ctx.clientTls() != null && !tls) {
        // 'S' goes out in plain text, then everything is TLS: the handler is first in line
        // before anything more is read, so no byte sent before the handshake is read as
        // protocol (the decoder already refused bytes that came with the request).
        channel.writeAndFlush(channel.alloc().buffer(1).writeByte('S'), channel.voidPromise());
        channel.pipeline().addFirst("tls", ctx.clientTls().newHandler(channel.alloc()));
        tls = true;
        return;
      }
      if (code == ProtocolCodes.SSL_REQUEST_CODE || code == ProtocolCodes.GSSENC_REQUEST_CODE) {
        // No TLS here (or already in it), no GSS encryption: 'N', go on in plain text.
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
    StartupRequest r = StartupRequest.of(m);
    if (!tls && ctx.config().tlsMode() == TlsMode.REQUIRE) {
      close(
          CloseReason.AUTHENTICATION_FAILED,
          SluiceException.fatal(
                  SqlState.INVALID_AUTHORIZATION_SPECIFICATION,
                  "TLS required: connect with sslmode=require or stronger (--tls-mode require)")
              .toErrorResponse());
      return;
    }
    if (ctx.clientCount() >= ctx.config().maxClientConnections()) {
      close(
          CloseReason.TOO_MANY_CLIENTS,
          LoginErrors.tooManyClients(ctx.config().maxClientConnections()));
      return;
    }
    user = r.user();
    database = r.database();
    logContext.identify(database, user);
    params = r.params();
    if (r.needsNegotiation()) {
      ByteBuf out = channel.alloc().buffer();
      new NegotiateProtocolVersion(0, r.protocolOptions()).encode(out);
      channel.write(out, channel.voidPromise());
    }
    login = ctx.newLogin(user);
    ByteBuf out = channel.alloc().buffer(32);
    login.begin(out);
    channel.writeAndFlush(out, channel.voidPromise());
    machine.transitionTo(ClientState.AUTHENTICATING);
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

  /** The client proved who it is; see {@link LoginCheck} for what is checked before it is in. */
  private void onAuthenticated() {
    machine.transitionTo(ClientState.LOGGING_IN);
    if (database.equals(AdminConsole.DATABASE)) {
      if (!ctx.config().allowsConsoleUser(user)) {
        // Checked after authentication, so that probing cannot learn who is listed.
        close(CloseReason.LOGIN_FAILED, LoginErrors.consoleNotAllowed(user));
        return;
      }
      finishConsoleLogin();
      return;
    }
    if (!ctx.config().allowsDatabase(database)) {
      // As PostgreSQL answers a name it does not know; the upstream role opens only what the
      // operator listed (--allow-databases).
      close(
          CloseReason.LOGIN_FAILED,
          SluiceException.fatal(
                  SqlState.INVALID_CATALOG_NAME, "database \"" + database + "\" does not exist")
              .toErrorResponse());
      return;
    }
    pool = ctx.pools().get(new PoolKey(database, user));
    LoginCheck.run(
        pool,
        params.desired(),
        channel.eventLoop(),
        new LoginCheck.Client() {
          @Override
          public boolean waiting() {
            return machine.is(ClientState.LOGGING_IN);
          }

          @Override
          public void passed() {
            finishLogin();
          }

          @Override
          public void refused(ErrorResponse error) {
            close(CloseReason.LOGIN_FAILED, SessionErrors.asFatal(error));
          }

          @Override
          public void failed(Throwable cause) {
            fail(cause);
          }
        });
  }

  /** The admin console: no pool, no backend; Sluice answers itself. */
  private void finishConsoleLogin() {
    if (!admitted()) {
      return;
    }
    ByteBuf out = channel.alloc().buffer(256);
    Authentication.encodeOk(out);
    AdminConsole.parameters().forEach((k, v) -> new ParameterStatus(k, v).encode(out));
    ReadyForQuery.IDLE.encode(out);
    channel.writeAndFlush(out, channel.voidPromise());
    console = new AdminConsole(ctx, channel, id);
    machine.transitionTo(ClientState.IDLE);
    ConnLog.debug(log, logContext, "admin console login in {} ms", ConnLog.ageMillis(createdNanos));
  }

  /** Counts the client in, unless --max-client-connections are; the login phase is over. */
  private boolean admitted() {
    if (!ctx.tryAdmitClient()) {
      close(
          CloseReason.TOO_MANY_CLIENTS,
          LoginErrors.tooManyClients(ctx.config().maxClientConnections()));
      return false;
    }
    counted = true;
    pendingLogin = false;
    ctx.pendingLogins().remove(this);
    loginTimer.cancel(false);
    FrameDecoder decoder = channel.pipeline().get(FrameDecoder.class);
    if (decoder != null) {
      decoder.loginCompleted();
    }
    return true;
  }

  private void finishLogin() {
    if (!admitted()) {
      return;
    }
    cancelKey = ctx.cancels().register(this);
    ByteBuf out = channel.alloc().buffer(512);
    Authentication.encodeOk(out);
    params
        .initialReport(pool.serverDefaults(), pool::serverValue)
        .forEach((k, v) -> new ParameterStatus(k, v).encode(out));
    cancelKey.encode(out);
    ReadyForQuery.IDLE.encode(out);
    channel.writeAndFlush(out, channel.voidPromise());
    session =
        new ClientSession(
            ctx.config(),
            ctx.stats(),
            ctx.logThrottle(),
            machine,
            new ChannelClientPort(channel, readGate, this::close, ctx.meters()),
            id,
            pool.forSession(channel.eventLoop()),
            params,
            ctx.cache(),
            // a read-only batch whose backend died before answering runs again elsewhere
            ReplayPolicy.READ_ONLY);
    ConnLog.debug(
        log,
        logContext,
        "client logged in to {} in {} ms",
        pool.key(),
        ConnLog.ageMillis(createdNanos));
  }

  private void loginTimedOut() {
    if (machine.state().compareTo(ClientState.IDLE) < 0) {
      close(CloseReason.LOGIN_TIMEOUT, LoginErrors.loginTimeout());
    }
  }

  /** More connections are logging in than --max-pending-logins allows, and this is the oldest. */
  private void pushOut() {
    channel
        .eventLoop()
        .execute(
            () -> {
              if (machine.state().compareTo(ClientState.IDLE) < 0) {
                close(
                    CloseReason.PUSHED_OUT_WHILE_LOGGING_IN,
                    LoginErrors.pushedOut(ctx.config().maxPendingLogins()));
              }
            });
  }

  private void onMessage(Frame f) {
    if (f.type() == FrontendType.TERMINATE.code()) {
      f.release();
      close(CloseReason.CLIENT_TERMINATE, null);
      return;
    }
    if (console != null) {
      console.onMessage(f);
      return;
    }
    session.onMessage(f);
  }

  // ---- cancel ----

  /** A CancelRequest carrying this client's key arrived (on any thread). */
  void requestCancel() {
    channel
        .eventLoop()
        .execute(
            () -> {
              if (session != null && !machine.is(ClientState.CLOSED)) {
                session.requestCancel();
              }
            });
  }

  // ---- closing ----

  /** Ends the connection with {@code cause} as a FATAL error: the server's own, or Sluice's. */
  private void fail(Throwable cause) {
    LoginErrors.Ending end = LoginErrors.forFailure(cause);
    if (end.reason() == CloseReason.INTERNAL_ERROR) {
      ConnLog.warn(log, logContext, "unexpected failure: {}", SafeErrors.describe(cause));
    }
    close(end.reason(), end.error());
  }

  /** Sends {@code error} (if any), then closes the client and settles its backend. */
  private void close(CloseReason reason, ErrorResponse error) {
    if (machine.is(ClientState.CLOSED)) {
      return;
    }
    // CLOSED first: closing the channel can run channelInactive at once, which must find the
    // connection closed already rather than close it a second time.
    boolean active = channel.isActive();
    transitionToClosed(reason, error);
    if (error != null && active) {
      ByteBuf out = channel.alloc().buffer(128);
      error.encode(out);
      channel.writeAndFlush(out).addListener(ChannelFutureListener.CLOSE);
    } else {
      channel.close();
    }
  }

  private void transitionToClosed(CloseReason reason, ErrorResponse error) {
    machine.transitionTo(ClientState.CLOSED);
    ctx.stats().clientClosed(reason);
    if (loginTimer != null) {
      loginTimer.cancel(false);
    }
    if (session != null) {
      session.close();
    }
    if (console != null) {
      console.close();
    }
    ctx.cancels().unregister(cancelKey, this);
    if (pendingLogin) {
      pendingLogin = false;
      ctx.pendingLogins().remove(this);
    }
    if (counted) {
      counted = false;
      ctx.clientClosed();
    }
    String what = error == null ? "" : ": " + error.summary();
    long age = ConnLog.ageMillis(createdNanos);
    if (reason.notable()) {
      ConnLog.throttled(
          ctx.logThrottle(),
          Level.INFO,
          log,
          logContext,
          "client closed (" + reason + ")",
          "{} after {} ms",
          what.isEmpty() ? "-" : what.substring(2),
          age);
    } else {
      ConnLog.debug(log, logContext, "client closed ({}) after {} ms", reason, age);
    }
  }

  /** What the admin port shows of this client, on this connection's event loop. */
  java.util.Map<String, Object> view() {
    java.util.Map<String, Object> v = new java.util.LinkedHashMap<>();
    v.put("id", id);
    v.put("state", machine.state().name());
    v.put("remote", String.valueOf(channel.remoteAddress()));
    v.put("ageMillis", ConnLog.ageMillis(createdNanos));
    v.put("database", database);
    v.put("user", user);
    v.put("backend", session == null ? null : session.backendId());
    v.put("pinned", session != null && session.pinned());
    return v;
  }

  /** On this connection's event loop: see {@link ClientSession#checkTimeouts}. */
  void checkTimeouts(long now, long queryTimeoutNanos, long idleTransactionNanos) {
    if (session != null && !machine.is(ClientState.CLOSED)) {
      session.checkTimeouts(now, queryTimeoutNanos, idleTransactionNanos);
    }
  }

  /** Diagnostics, on this connection's event loop: see {@link ClientSession#describeIfStalled}. */
  String describeIfStalled(long minNanos) {
    if (machine.state().compareTo(ClientState.IDLE) < 0) {
      long age = System.nanoTime() - createdNanos;
      return age < minNanos ? null : id + ": " + machine + " for " + age / 1_000_000 + " ms";
    }
    if (session == null || machine.is(ClientState.CLOSED)) {
      return null;
    }
    String d = session.describeIfStalled(minNanos);
    return d == null ? null : id + ": " + d;
  }

  @Override
  public String toString() {
    return id;
  }
}
