package dev.sluice.server;

import dev.sluice.auth.AuthenticationFailedException;
import dev.sluice.config.TlsMode;
import dev.sluice.engine.ClientState;
import dev.sluice.engine.CloseReason;
import dev.sluice.engine.SessionErrors;
import dev.sluice.error.SluiceException;
import dev.sluice.error.SqlState;
import dev.sluice.logging.ConnLog;
import dev.sluice.logging.LogContext;
import dev.sluice.protocol.Frame;
import dev.sluice.protocol.FrameDecoder;
import dev.sluice.protocol.FrontendType;
import dev.sluice.protocol.ProtocolCodes;
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
import io.netty.handler.ssl.SslHandler;
import io.netty.util.concurrent.ScheduledFuture;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The login phase of one {@link ClientConnection}: from its first packet until it is admitted and
 * greeted, after which the connection starts its session (or the admin console). Everything here
 * runs on the connection's event loop.
 *
 * <pre>
 *   AWAITING_STARTUP ──StartupMessage──► AUTHENTICATING ──auth ok──► LOGGING_IN ──checks──► IDLE
 *      │ SSLRequest → 'S' and TLS, or 'N'; GSSENCRequest → 'N'  (LoginCheck, admission, greeting)
 *      │ direct TLS (first byte 0x16, see DirectTlsDetector): TLS at once, ALPN postgresql required
 *      │ CancelRequest → forwarded, closed
 * </pre>
 *
 * <p>A connection that is logging in counts against {@code --max-pending-logins} and has {@code
 * --client-login-timeout} to finish; once admitted it counts against {@code
 * --max-client-connections} until it closes ({@link #end}).
 */
final class ClientStartup {
  // The connection's logger: its login and close lines are read together.
  private static final Logger log = LoggerFactory.getLogger(ClientConnection.class);

  private final ClientConnection conn;
  private final ProxyContext ctx;
  private final Channel channel;
  private final StateMachine<ClientState> machine;
  private final LogContext logContext;
  private final long createdNanos;
  private final AddressLoginLimit loginLimit;

  private boolean tls;
  private boolean directTls;
  private boolean pendingLogin;
  private boolean counted;
  private ScheduledFuture<?> loginTimer;
  private String user;
  private String database;
  private SessionParameters params;
  private ClientLogin login;
  private ServerPool pool;

  ClientStartup(
      ClientConnection conn,
      ProxyContext ctx,
      Channel channel,
      StateMachine<ClientState> machine,
      LogContext logContext,
      long createdNanos) {
    this.conn = conn;
    this.ctx = ctx;
    this.channel = channel;
    this.machine = machine;
    this.logContext = logContext;
    this.createdNanos = createdNanos;
    this.loginLimit = new AddressLoginLimit(ctx.failedLogins(), channel, logContext);
  }

  /** The role the startup packet named; null before it. */
  String user() {
    return user;
  }

  /** The database the startup packet named; null before it. */
  String database() {
    return database;
  }

  /** The socket is up: the login clock starts and the connection joins the pending logins. */
  void begin() {
    pendingLogin = true;
    ClientConnection pushedOut = ctx.pendingLogins().add(conn);
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

  /** The connection closed: whatever this phase holds of the server's counts is given back. */
  void end() {
    if (loginTimer != null) {
      loginTimer.cancel(false);
    }
    if (pendingLogin) {
      pendingLogin = false;
      ctx.pendingLogins().remove(conn);
    }
    if (counted) {
      counted = false;
      ctx.clientClosed();
    }
  }

  /** The connection began with a TLS handshake instead of a startup packet. */
  void onDirectTls() {
    tls = true;
    directTls = true;
  }

  /** The TLS handshake succeeded: a direct TLS client without ALPN is refused now. */
  void onTlsHandshake() {
    refusedWithoutAlpn();
  }

  /**
   * Direct TLS is only for clients that negotiated ALPN {@code postgresql}, as in PostgreSQL 17:
   * closed without an answer otherwise (PostgreSQL logs it and sends nothing).
   */
  private boolean refusedWithoutAlpn() {
    if (!directTls) {
      return false;
    }
    SslHandler h = channel.pipeline().get(SslHandler.class);
    if (h != null && ClientTls.ALPN.equals(h.applicationProtocol())) {
      return false;
    }
    ConnLog.debug(
        log,
        logContext,
        "direct TLS connection without ALPN protocol negotiation ({}) refused",
        ClientTls.ALPN);
    conn.close(CloseReason.PROTOCOL_VIOLATION, null);
    return true;
  }

  /** The first packet: SSLRequest, GSSENCRequest, CancelRequest or StartupMessage. */
  void onStartup(Frame f) {
    ByteBuf body = f.body();
    try {
      if (refusedWithoutAlpn()) {
        return; // the handshake's own check may not have run yet: data can come with its end
      }
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
        conn.close(CloseReason.CANCEL_REQUEST, null);
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
      conn.close(
          CloseReason.AUTHENTICATION_FAILED,
          SluiceException.fatal(
                  SqlState.INVALID_AUTHORIZATION_SPECIFICATION,
                  "TLS required: connect with sslmode=require or stronger (--tls-mode require)")
              .toErrorResponse());
      return;
    }
    if (ctx.clientCount() >= ctx.config().maxClientConnections()) {
      conn.close(
          CloseReason.TOO_MANY_CLIENTS,
          LoginErrors.tooManyClients(ctx.config().maxClientConnections()));
      return;
    }
    user = r.user();
    database = r.database();
    logContext.identify(database, user);
    Duration locked = loginLimit.lockedFor();
    if (locked != null) {
      // Refused before any password exchange: a locked address learns nothing more.
      conn.close(
          CloseReason.AUTHENTICATION_FAILED,
          LoginErrors.loginsLocked(locked, ctx.failedLogins().limit()));
      return;
    }
    params = r.params();
    if (r.needsNegotiation()) {
      ByteBuf out = channel.alloc().buffer();
      new NegotiateProtocolVersion(0, r.protocolOptions()).encode(out);
      channel.write(out, channel.voidPromise());
    }
    login = ctx.newLogin(user, tls ? ctx.clientTls().channelBinding() : null);
    ByteBuf out = channel.alloc().buffer(32);
    login.begin(out);
    channel.writeAndFlush(out, channel.voidPromise());
    machine.transitionTo(ClientState.AUTHENTICATING);
  }

  /** A message of the authentication exchange (every one is a PasswordMessage by type). */
  void onAuthMessage(Frame f) {
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
        if (e instanceof AuthenticationFailedException) {
          loginLimit.failed();
        }
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
        conn.close(CloseReason.LOGIN_FAILED, LoginErrors.consoleNotAllowed(user));
        return;
      }
      finishConsoleLogin();
      return;
    }
    if (!ctx.config().allowsDatabase(database)) {
      // As PostgreSQL answers a name it does not know; the upstream role opens only what the
      // operator listed (--allow-databases).
      conn.close(
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
            conn.close(CloseReason.LOGIN_FAILED, SessionErrors.asFatal(error));
          }

          @Override
          public void failed(Throwable cause) {
            conn.fail(cause);
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
    conn.startConsole();
    ConnLog.debug(log, logContext, "admin console login in {} ms", ConnLog.ageMillis(createdNanos));
  }

  /** Counts the client in, unless --max-client-connections are; the login phase is over. */
  private boolean admitted() {
    if (!ctx.tryAdmitClient()) {
      conn.close(
          CloseReason.TOO_MANY_CLIENTS,
          LoginErrors.tooManyClients(ctx.config().maxClientConnections()));
      return false;
    }
    counted = true;
    pendingLogin = false;
    ctx.pendingLogins().remove(conn);
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
    BackendKeyData cancelKey = conn.registerCancelKey();
    ByteBuf out = channel.alloc().buffer(512);
    Authentication.encodeOk(out);
    params
        .initialReport(pool.serverDefaults(), pool.checkedSettings()::serverValue)
        .forEach((k, v) -> new ParameterStatus(k, v).encode(out));
    cancelKey.encode(out);
    ReadyForQuery.IDLE.encode(out);
    channel.writeAndFlush(out, channel.voidPromise());
    conn.startSession(pool, params);
    ConnLog.debug(
        log,
        logContext,
        "client logged in to {} in {} ms",
        pool.key(),
        ConnLog.ageMillis(createdNanos));
  }

  private void loginTimedOut() {
    if (machine.state().compareTo(ClientState.IDLE) < 0) {
      conn.close(CloseReason.LOGIN_TIMEOUT, LoginErrors.loginTimeout());
    }
  }
}
