package dev.sluice.server;

import dev.sluice.engine.ClientSession;
import dev.sluice.engine.ClientState;
import dev.sluice.engine.CloseReason;
import dev.sluice.engine.ReplayPolicy;
import dev.sluice.error.SafeErrors;
import dev.sluice.error.ServerErrorException;
import dev.sluice.error.SluiceException;
import dev.sluice.error.SqlState;
import dev.sluice.logging.ConnLog;
import dev.sluice.logging.LogContext;
import dev.sluice.protocol.Frame;
import dev.sluice.protocol.FrameDecoder;
import dev.sluice.protocol.FrontendType;
import dev.sluice.protocol.ProtocolViolationException;
import dev.sluice.protocol.Severity;
import dev.sluice.protocol.backend.BackendKeyData;
import dev.sluice.protocol.backend.ErrorResponse;
import dev.sluice.session.SessionParameters;
import dev.sluice.state.StateMachine;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import java.io.IOException;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

/**
 * One client connection: its socket's events, the login phase ({@link ClientStartup}), then a
 * {@link ClientSession} (or the {@link AdminConsole}) for its traffic, and the one place the
 * connection closes.
 *
 * <pre>
 *   STARTUP ──StartupMessage──► AUTHENTICATING ──auth ok──► LOGGING_IN ──► READY
 *      │ SSLRequest → 'S' and TLS, or 'N'; direct TLS;      (server settings known)
 *      │ GSSENCRequest → 'N'
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
  private ReadGate readGate;
  private ClientStartup startup;
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
    startup = new ClientStartup(this, ctx, channel, machine, logContext, createdNanos);
    startup.begin();
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext c, Object evt) {
    if (evt instanceof FrameDecoder.ReadPause p) {
      readGate.memory(p == FrameDecoder.ReadPause.PAUSE);
    } else if (evt == DirectTlsDetector.DIRECT_TLS) {
      startup.onDirectTls();
    } else if (evt instanceof SslHandshakeCompletionEvent e && e.isSuccess()) {
      if (!machine.is(ClientState.CLOSED)) {
        startup.onTlsHandshake();
      }
    } else {
      c.fireUserEventTriggered(evt);
    }
  }

  @Override
  public void channelRead(ChannelHandlerContext c, Object msg) {
    Frame f = (Frame) msg;
    try {
      switch (machine.state()) {
        case AWAITING_STARTUP -> startup.onStartup(f);
        case AUTHENTICATING -> startup.onAuthMessage(f);
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

  // ---- login (see ClientStartup), then the session or the console ----

  /** Authenticated and admitted for the admin console: Sluice answers it itself. */
  void startConsole() {
    console = new AdminConsole(ctx, channel, id);
    machine.transitionTo(ClientState.IDLE);
  }

  /** Gives this client a cancel key of its own; it is sent in the login's greeting. */
  BackendKeyData registerCancelKey() {
    cancelKey = ctx.cancels().register(this);
    return cancelKey;
  }

  /** Logged in, checked and greeted: from here on the session carries the traffic. */
  void startSession(ServerPool pool, SessionParameters params) {
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
  }

  /** More connections are logging in than --max-pending-logins allows, and this is the oldest. */
  void pushOut() {
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
  void fail(Throwable cause) {
    LoginErrors.Ending end = LoginErrors.forFailure(cause);
    if (end.reason() == CloseReason.INTERNAL_ERROR) {
      ConnLog.warn(log, logContext, "unexpected failure: {}", SafeErrors.describe(cause));
    }
    close(end.reason(), end.error());
  }

  /** Sends {@code error} (if any), then closes the client and settles its backend. */
  void close(CloseReason reason, ErrorResponse error) {
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
    if (session != null) {
      session.close();
    }
    if (console != null) {
      console.close();
    }
    ctx.cancels().unregister(cancelKey, this);
    if (startup != null) {
      startup.end();
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
    v.put("database", startup == null ? null : startup.database());
    v.put("user", startup == null ? null : startup.user());
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
