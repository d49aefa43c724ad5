package dev.sluice.server;

import dev.sluice.engine.ClientPort;
import dev.sluice.engine.ClientSession;
import dev.sluice.engine.ClientState;
import dev.sluice.engine.CloseReason;
import dev.sluice.engine.SessionErrors;
import dev.sluice.error.SafeErrors;
import dev.sluice.error.ServerErrorException;
import dev.sluice.error.SluiceException;
import dev.sluice.error.SqlState;
import dev.sluice.logging.ConnLog;
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
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderException;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.util.List;
import java.util.Map;
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
  private final long createdNanos = System.nanoTime();
  private Channel channel;
  private final StateMachine<ClientState> machine =
      new StateMachine<>(ClientState.TABLE, ClientState.AWAITING_STARTUP);
  private boolean counted;
  private boolean pendingLogin;
  private ReadGate readGate;
  private ScheduledFuture<?> loginTimer;

  private String user;
  private String database;
  private SessionParameters params;
  private ClientLogin login;
  private ServerPool pool;
  private BackendKeyData cancelKey;

  private ClientSession session;

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
      ConnLog.debug(log, id, "invalid startup packet: {}", SafeErrors.describe(t));
      close(CloseReason.PROTOCOL_VIOLATION, null);
    } else if (t instanceof SluiceException
        || t instanceof ServerErrorException
        || t instanceof ProtocolViolationException) {
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

  private static boolean isProtocolViolation(Throwable t) {
    return t instanceof ProtocolViolationException
        || (t instanceof SluiceException e && e.state() == SqlState.PROTOCOL_VIOLATION);
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
    if (ctx.clientCount() >= ctx.config().maxClientConnections()) {
      refuseTooManyClients();
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

  /**
   * The client proved who it is; now what PostgreSQL would still check at login. A backend is
   * needed only for what no backend of the pool has told Sluice yet: for the first client of a
   * pool, what the server reports at login (and whether the database exists at all, so a wrong name
   * fails here with the server's own error); for a client whose startup settings no backend has
   * accepted before, whether they are valid, so an unknown or bad one is refused here, as
   * PostgreSQL refuses it, and never reaches a backend another client will use.
   */
  private void onAuthenticated() {
    machine.transitionTo(ClientState.LOGGING_IN);
    pool = ctx.pools().get(new PoolKey(database, user));
    Map<String, String> unchecked = pool.uncheckedSettings(params.desired());
    if (pool.serverDefaults() != null && unchecked.isEmpty()) {
      finishLogin();
      return;
    }
    pool.acquire(
        channel.eventLoop(),
        (s, e) -> {
          if (!machine.is(ClientState.LOGGING_IN)) {
            if (s != null) {
              pool.release(s, true, "client left during login");
            }
          } else if (e != null) {
            fail(e);
          } else if (unchecked.isEmpty()) {
            pool.release(s, true, "login probe");
            finishLogin();
          } else {
            pool.checkSettings(
                s, unchecked, error -> channel.eventLoop().execute(() -> onChecked(error)));
          }
        });
  }

  private void onChecked(ErrorResponse error) {
    if (!machine.is(ClientState.LOGGING_IN)) {
      return;
    }
    if (error != null) {
      close(CloseReason.LOGIN_FAILED, SessionErrors.asFatal(error));
    } else {
      finishLogin();
    }
  }

  private void refuseTooManyClients() {
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
  }

  private void finishLogin() {
    if (!ctx.tryAdmitClient()) {
      refuseTooManyClients();
      return;
    }
    counted = true;
    pendingLogin = false;
    ctx.pendingLogins().remove(this);
    FrameDecoder decoder = channel.pipeline().get(FrameDecoder.class);
    if (decoder != null) {
      decoder.loginCompleted();
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
    loginTimer.cancel(false);
    session =
        new ClientSession(
            ctx.config(),
            ctx.stats(),
            ctx.logThrottle(),
            machine,
            new Port(),
            id,
            pool.forSession(channel.eventLoop()),
            params);
    ConnLog.debug(
        log, id, "client logged in to {} in {} ms", pool.key(), ConnLog.ageMillis(createdNanos));
  }

  private void loginTimedOut() {
    if (machine.state().compareTo(ClientState.IDLE) < 0) {
      close(
          CloseReason.LOGIN_TIMEOUT,
          SluiceException.fatal(SqlState.QUERY_CANCELED, "canceling authentication due to timeout")
              .toErrorResponse());
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
                    new SluiceException(
                            SqlState.TOO_MANY_CONNECTIONS,
                            Severity.FATAL,
                            "sorry, too many clients are logging in",
                            "This connection was the oldest of "
                                + ctx.config().maxPendingLogins()
                                + " that had not completed their login (--max-pending-logins).",
                            null,
                            null)
                        .toErrorResponse());
              }
            });
  }

  private void onMessage(Frame f) {
    if (f.type() == FrontendType.TERMINATE.code()) {
      f.release();
      close(CloseReason.CLIENT_TERMINATE, null);
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

  /** Ends the connection with {@code t} as a FATAL error: the server's own, or Sluice's. */
  private void fail(Throwable cause) {
    Throwable t =
        cause instanceof ProtocolViolationException p
            ? SluiceException.protocolViolation(p.getMessage())
            : cause;
    if (t instanceof ServerErrorException se) {
      close(CloseReason.LOGIN_FAILED, se.error());
      return;
    }
    if (!(t instanceof SluiceException e)) {
      ConnLog.warn(log, id, "unexpected failure: {}", SafeErrors.describe(t));
      close(
          CloseReason.INTERNAL_ERROR,
          ErrorResponse.of(
              Severity.FATAL,
              SqlState.CONNECTION_FAILURE.code(),
              "could not serve this connection: " + SafeErrors.describe(t),
              null,
              null));
      return;
    }
    CloseReason reason =
        switch (e.state()) {
          case PROTOCOL_VIOLATION -> CloseReason.PROTOCOL_VIOLATION;
          case INVALID_PASSWORD, INVALID_AUTHORIZATION_SPECIFICATION ->
              CloseReason.AUTHENTICATION_FAILED;
          default -> CloseReason.LOGIN_FAILED;
        };
    close(reason, SessionErrors.asFatal(e.toErrorResponse()));
  }

  /** Sends {@code error} (if any), then closes the client and settles its backend. */
  private void close(CloseReason reason, ErrorResponse error) {
    if (machine.is(ClientState.CLOSED)) {
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
    machine.transitionTo(ClientState.CLOSED);
    if (loginTimer != null) {
      loginTimer.cancel(false);
    }
    if (session != null) {
      session.close();
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
          id,
          "client closed (" + reason + ")",
          "{} after {} ms",
          what.isEmpty() ? "-" : what.substring(2),
          age);
    } else {
      ConnLog.debug(log, id, "client closed ({}) after {} ms", reason, age);
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

  /** The client socket as the session engine sees it. */
  private final class Port implements ClientPort {
    @Override
    public ByteBufAllocator alloc() {
      return channel.alloc();
    }

    @Override
    public void write(ByteBuf buf) {
      channel.write(buf, channel.voidPromise());
    }

    @Override
    public void flush() {
      channel.flush();
    }

    @Override
    public boolean isWritable() {
      return channel.isWritable();
    }

    @Override
    public void setReading(boolean on) {
      readGate.session(on);
    }

    @Override
    public boolean isReading() {
      return channel.config().isAutoRead();
    }

    @Override
    public void close(CloseReason reason, ErrorResponse error) {
      ClientConnection.this.close(reason, error);
    }
  }

  @Override
  public String toString() {
    return id;
  }
}
