package dev.sluice.server;

import dev.sluice.backend.BackendSession;
import dev.sluice.backend.BackendState;
import dev.sluice.engine.BackendPort;
import dev.sluice.error.SafeErrors;
import dev.sluice.error.ServerErrorException;
import dev.sluice.error.SluiceException;
import dev.sluice.error.SqlState;
import dev.sluice.logging.ConnLog;
import dev.sluice.logging.LogContext;
import dev.sluice.pool.PooledConnection;
import dev.sluice.protocol.BackendType;
import dev.sluice.protocol.Frame;
import dev.sluice.protocol.ProtocolCodes;
import dev.sluice.protocol.ProtocolViolationException;
import dev.sluice.protocol.backend.Authentication;
import dev.sluice.protocol.backend.BackendKeyData;
import dev.sluice.protocol.backend.ErrorResponse;
import dev.sluice.protocol.backend.ParameterStatus;
import dev.sluice.protocol.frontend.StartupMessage;
import dev.sluice.resilience.TransientConnectException;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

/**
 * One backend connection: logs in on behalf of Sluice, then relays frames to whoever holds it.
 *
 * <p>Login: StartupMessage (protocol 3.0, user, database) → Authentication exchange (SCRAM-SHA-256,
 * MD5 or cleartext, whichever the server asks for) → ParameterStatus* and BackendKeyData →
 * ReadyForQuery, which completes the login future. An ErrorResponse during login fails it with the
 * server's own error, so a client can be shown exactly what the server said.
 *
 * <p>After login every frame goes to the current {@link Sink}: the client session holding the
 * connection, the pool while it is idle, or an internal query run (reset, rollback). Frames are
 * collected per socket read and handed over as one batch at {@code channelReadComplete}, so a sink
 * on another event loop costs one task per read, not one per message.
 */
final class ServerConnection extends ChannelInboundHandlerAdapter
    implements PooledConnection, BackendPort {
  private static final Logger log = LoggerFactory.getLogger(ServerConnection.class);
  private static final AtomicLong IDS = new AtomicLong();

  /** Receives a logged-in connection's frames and events. */
  interface Sink {
    /** Called on the connection's event loop; the sink owns the frames. */
    void onServerFrames(ServerConnection server, List<Frame> frames);

    /** The connection can take writes again. */
    void onServerWritable(ServerConnection server);

    /** The connection closed; no more frames will come. */
    void onServerClosed(ServerConnection server);
  }

  private final String id = "s" + IDS.incrementAndGet();

  /** The id, the pool's database and role, and the backend's pid once BackendKeyData gave it. */
  private final LogContext logContext;

  private final ServerPool pool;
  private final CompletableFuture<ServerConnection> login;
  private final long createdNanos = System.nanoTime();
  private final Map<String, String> startupReport = new LinkedHashMap<>();

  /** Its state, the settings Sluice brought it to and the statements it holds. */
  private final BackendSession session;

  private Channel channel;
  private BackendAuth auth;
  private BackendKeyData key;
  private boolean loggedIn;
  private volatile Sink sink;

  /** When it last did work for a client (or logged in); see --server-check-delay. */
  private volatile long idleSinceNanos = System.nanoTime();

  long idleSinceNanos() {
    return idleSinceNanos;
  }

  void markUsed() {
    idleSinceNanos = System.nanoTime();
  }

  /** Set once the channel is inactive, before the sink is told. */
  private volatile boolean gone;

  private volatile String closeReason;
  private List<Frame> inbox = new ArrayList<>();
  private int cancelsInFlight;
  private Runnable whenCancelsDone;

  ServerConnection(ServerPool pool, CompletableFuture<ServerConnection> login) {
    this.pool = pool;
    this.login = login;
    this.logContext = LogContext.of(id).identify(pool.key().database(), pool.key().user());
    this.sink = pool.idleSink();
    this.session =
        new BackendSession(pool.maxPreparedStatements(), pool.statementGenerations(), (f, t) -> {});
  }

  @Override
  public BackendSession session() {
    return session;
  }

  @Override
  public String id() {
    return id;
  }

  /** What its log lines say about it: id, database, role and backend pid. */
  LogContext logContext() {
    return logContext;
  }

  Channel channel() {
    return channel;
  }

  ServerPool pool() {
    return pool;
  }

  /** The server's process id and secret, for cancel requests; null if it sent none. */
  BackendKeyData key() {
    return key;
  }

  /** The ParameterStatus values the server reported at login. */
  Map<String, String> startupReport() {
    return Collections.unmodifiableMap(startupReport);
  }

  /**
   * Makes {@code newSink} the receiver of this connection's frames and events. A connection can die
   * on its own event loop while the pool hands it to a sink on another: whichever of the two steps
   * comes second sees the other ({@code sink} and {@code gone} are both volatile), so the new sink
   * always hears of the close, at worst twice.
   */
  void attach(Sink newSink) {
    this.sink = newSink;
    if (gone) {
      newSink.onServerClosed(this);
    }
  }

  Sink sink() {
    return sink;
  }

  @Override
  public Object affinity() {
    return channel.eventLoop();
  }

  @Override
  public boolean isOpen() {
    return closeReason == null && channel.isActive();
  }

  @Override
  public void close(String reason) {
    if (closeReason == null) {
      closeReason = reason;
    }
    channel.close();
  }

  /** Writes without flushing; the holder flushes once per batch. */
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
    setAutoRead(on);
  }

  void setAutoRead(boolean on) {
    if (channel.config().isAutoRead() != on) {
      channel.config().setAutoRead(on);
    }
  }

  // ---- cancel bookkeeping: a connection being cancelled is not handed to anyone else ----

  synchronized void cancelStarted() {
    cancelsInFlight++;
  }

  void cancelFinished() {
    Runnable r = null;
    synchronized (this) {
      if (--cancelsInFlight == 0 && whenCancelsDone != null) {
        r = whenCancelsDone;
        whenCancelsDone = null;
      }
    }
    if (r != null) {
      r.run();
    }
  }

  /** Runs {@code r} now if no cancel is in flight, else when the last one finishes. */
  void afterCancels(Runnable r) {
    synchronized (this) {
      if (cancelsInFlight > 0) {
        whenCancelsDone = r;
        return;
      }
    }
    r.run();
  }

  // ---- Netty events ----

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    channel = ctx.channel();
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    Map<String, String> params = new LinkedHashMap<>();
    params.put("user", pool.key().user());
    params.put("database", pool.key().database());
    pool.upstreamStartupParameters().forEach(params::putIfAbsent);
    session.moveTo(BackendState.AUTHENTICATING);
    ByteBuf out = ctx.alloc().buffer(128);
    new StartupMessage(ProtocolCodes.PROTOCOL_3_0, params).encode(out);
    ctx.writeAndFlush(out, ctx.voidPromise());
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    Frame f = (Frame) msg;
    if (loggedIn) {
      inbox.add(f);
      return;
    }
    try {
      onLoginFrame(f);
    } catch (ServerErrorException | SluiceException e) {
      failLogin(e);
    } catch (ProtocolViolationException e) {
      failLogin(
          SluiceException.fatal(
              SqlState.SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION,
              "the upstream server broke the protocol during login: " + e.getMessage()));
    } finally {
      f.release();
    }
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    if (!inbox.isEmpty()) {
      List<Frame> batch = inbox;
      inbox = new ArrayList<>(8);
      sink.onServerFrames(this, batch);
    }
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    if (loggedIn && ctx.channel().isWritable()) {
      sink.onServerWritable(this);
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    session.moveTo(BackendState.CLOSED);
    inbox.forEach(Frame::release);
    inbox.clear();
    if (!loggedIn) {
      failLogin(
          new TransientConnectException("the upstream server closed the connection during login"));
      return;
    }
    gone = true;
    String reason = closeReason == null ? "closed by the server" : closeReason;
    ConnLog.debug(
        log,
        logContext,
        "server connection closed: {} (age {} ms)",
        reason,
        ConnLog.ageMillis(createdNanos));
    pool.pool().closed(this);
    sink.onServerClosed(this);
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    Throwable c =
        cause instanceof DecoderException && cause.getCause() != null ? cause.getCause() : cause;
    if (closeReason == null) {
      closeReason = "error: " + SafeErrors.describe(c);
    }
    ConnLog.throttled(
        pool.logThrottle(),
        Level.INFO,
        log,
        logContext,
        "server connection error",
        "{}",
        SafeErrors.describe(c));
    if (!loggedIn && c instanceof SluiceException se) {
      failLogin(se);
    } else if (!loggedIn) {
      // The network failed under the login (a reset while the server restarts): worth another
      // try, like a refused connect, not an answer about this login.
      failLogin(
          new TransientConnectException(
              "could not log in to the upstream server: " + SafeErrors.describe(c)));
    }
    ctx.close();
  }

  // ---- login ----

  private void onLoginFrame(Frame f) {
    switch (BackendType.of(f.type())) {
      case AUTHENTICATION -> auth().on(Authentication.decode(f.body()));
      case PARAMETER_STATUS -> {
        ParameterStatus ps = ParameterStatus.decode(f.body());
        startupReport.put(ps.name(), ps.value());
      }
      case BACKEND_KEY_DATA -> {
        key = BackendKeyData.decode(f.body());
        logContext.backendPid(key.processId());
      }
      case ERROR_RESPONSE -> throw new ServerErrorException(ErrorResponse.decode(f.body()));
      case NOTICE_RESPONSE, NEGOTIATE_PROTOCOL_VERSION -> {}
      case READY_FOR_QUERY -> {
        loggedIn = true;
        auth = null;
        session.moveTo(BackendState.IDLE);
        pool.learnDefaults(startupReport, ConnLog.ageMillis(createdNanos));
        ConnLog.debug(
            log,
            logContext,
            "logged in to {} as {} in {} ms",
            channel.remoteAddress(),
            pool.key().user(),
            ConnLog.ageMillis(createdNanos));
        login.complete(this);
      }
      default ->
          throw SluiceException.fatal(
              SqlState.PROTOCOL_VIOLATION,
              "unexpected message '" + (char) f.type() + "' from the upstream server during login");
    }
  }

  private BackendAuth auth() {
    if (auth == null) {
      auth = new BackendAuth(channel, pool.key().user(), pool.password(), pool.scramKeys());
    }
    return auth;
  }

  private void failLogin(Throwable e) {
    if (login.completeExceptionally(e)) {
      ConnLog.debug(log, logContext, "login failed: {}", SafeErrors.describe(e));
    }
    if (channel != null) {
      channel.close();
    }
  }

  @Override
  public String toString() {
    return id;
  }
}
