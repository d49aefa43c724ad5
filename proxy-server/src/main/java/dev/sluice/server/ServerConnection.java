package dev.sluice.server;

import dev.sluice.backend.BackendSession;
import dev.sluice.backend.BackendState;
import dev.sluice.engine.BackendPort;
import dev.sluice.error.SafeErrors;
import dev.sluice.error.SluiceException;
import dev.sluice.error.SqlState;
import dev.sluice.logging.ConnLog;
import dev.sluice.logging.LogContext;
import dev.sluice.pool.PooledConnection;
import dev.sluice.protocol.Frame;
import dev.sluice.protocol.ProtocolViolationException;
import dev.sluice.protocol.backend.BackendKeyData;
import dev.sluice.resilience.TransientConnectException;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderException;
import java.util.ArrayList;
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
 * <p>Login ({@link ServerLogin}): StartupMessage → Authentication exchange → ParameterStatus* and
 * BackendKeyData → ReadyForQuery, which completes the login future; an ErrorResponse during login
 * fails it with the server's own error.
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
  private final ServerLogin login;
  private final long createdNanos = System.nanoTime();

  /** Its state, the settings Sluice brought it to and the statements it holds. */
  private final BackendSession session;

  private Channel channel;
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
    this.logContext = LogContext.of(id).identify(pool.key().database(), pool.key().user());
    this.login = new ServerLogin(this, pool, login, logContext, createdNanos);
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
    return login.key();
  }

  /** The ParameterStatus values the server reported at login. */
  Map<String, String> startupReport() {
    return login.startupReport();
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
    login.start(ctx);
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    Frame f = (Frame) msg;
    if (login.done()) {
      inbox.add(f);
    } else {
      login.onFrame(f);
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
    if (login.done() && ctx.channel().isWritable()) {
      sink.onServerWritable(this);
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    session.moveTo(BackendState.CLOSED);
    inbox.forEach(Frame::release);
    inbox.clear();
    if (!login.done()) {
      login.fail(
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
    if (!login.done() && c instanceof SluiceException se) {
      login.fail(se);
    } else if (!login.done() && c instanceof ProtocolViolationException) {
      // Bad framing (a length out of range) is the server's fault, not the network's: no retry.
      login.fail(
          SluiceException.fatal(
              SqlState.SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION,
              "the upstream server broke the protocol during login: " + c.getMessage()));
    } else if (!login.done()) {
      // The network failed under the login (a reset while the server restarts): worth another
      // try, like a refused connect, not an answer about this login.
      login.fail(
          new TransientConnectException(
              "could not log in to the upstream server: " + SafeErrors.describe(c)));
    }
    ctx.close();
  }

  @Override
  public String toString() {
    return id;
  }
}
