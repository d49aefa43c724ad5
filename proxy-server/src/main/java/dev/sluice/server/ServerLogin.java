package dev.sluice.server;

import dev.sluice.backend.BackendState;
import dev.sluice.error.SafeErrors;
import dev.sluice.error.ServerErrorException;
import dev.sluice.error.SluiceException;
import dev.sluice.error.SqlState;
import dev.sluice.logging.ConnLog;
import dev.sluice.logging.LogContext;
import dev.sluice.protocol.BackendType;
import dev.sluice.protocol.Frame;
import dev.sluice.protocol.FrameDecoder;
import dev.sluice.protocol.ProtocolCodes;
import dev.sluice.protocol.ProtocolViolationException;
import dev.sluice.protocol.backend.Authentication;
import dev.sluice.protocol.backend.BackendKeyData;
import dev.sluice.protocol.backend.ErrorResponse;
import dev.sluice.protocol.backend.ParameterStatus;
import dev.sluice.protocol.frontend.StartupMessage;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The login of one {@link ServerConnection} on behalf of Sluice: StartupMessage (protocol 3.0,
 * user, database) → Authentication exchange (SCRAM-SHA-256, MD5 or cleartext, whichever the server
 * asks for) → ParameterStatus* and BackendKeyData → ReadyForQuery, which completes the login
 * future. An ErrorResponse during login fails it with the server's own error, so a client can be
 * shown exactly what the server said. Everything here runs on the connection's event loop.
 */
final class ServerLogin {
  // The connection's logger: a backend's login and close lines are read together.
  private static final Logger log = LoggerFactory.getLogger(ServerConnection.class);

  private final ServerConnection conn;
  private final ServerPool pool;
  private final CompletableFuture<ServerConnection> future;
  private final LogContext logContext;
  private final long createdNanos;
  private final Map<String, String> startupReport = new LinkedHashMap<>();
  private BackendAuth auth;
  private BackendKeyData key;
  private boolean done;

  ServerLogin(
      ServerConnection conn,
      ServerPool pool,
      CompletableFuture<ServerConnection> future,
      LogContext logContext,
      long createdNanos) {
    this.conn = conn;
    this.pool = pool;
    this.future = future;
    this.logContext = logContext;
    this.createdNanos = createdNanos;
  }

  /** Whether the server said ReadyForQuery: the connection is logged in. */
  boolean done() {
    return done;
  }

  /** The server's process id and secret, for cancel requests; null if it sent none. */
  BackendKeyData key() {
    return key;
  }

  /** The ParameterStatus values the server reported at login. */
  Map<String, String> startupReport() {
    return Collections.unmodifiableMap(startupReport);
  }

  /** The socket is up: the StartupMessage goes out. */
  void start(ChannelHandlerContext ctx) {
    Map<String, String> params = new LinkedHashMap<>();
    params.put("user", pool.key().user());
    params.put("database", pool.key().database());
    pool.upstreamStartupParameters().forEach(params::putIfAbsent);
    conn.session().moveTo(BackendState.AUTHENTICATING);
    ByteBuf out = ctx.alloc().buffer(128);
    new StartupMessage(ProtocolCodes.PROTOCOL_3_0, params).encode(out);
    ctx.writeAndFlush(out, ctx.voidPromise());
  }

  /** A frame from the server before login completed; released here. */
  void onFrame(Frame f) {
    try {
      if (future.isDone()) {
        return; // the login failed and the channel is closing: the rest of this read is moot
      }
      onLoginFrame(f);
    } catch (ServerErrorException | SluiceException e) {
      fail(e);
    } catch (ProtocolViolationException e) {
      fail(
          SluiceException.fatal(
              SqlState.SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION,
              "the upstream server broke the protocol during login: " + e.getMessage()));
    } finally {
      f.release();
    }
  }

  private void onLoginFrame(Frame f) {
    switch (BackendType.of(f.type())) {
      case AUTHENTICATION -> auth().on(Authentication.decode(f.body()));
      case PARAMETER_STATUS -> {
        requireAuthenticated(f);
        ParameterStatus ps = ParameterStatus.decode(f.body());
        startupReport.put(ps.name(), ps.value());
      }
      case BACKEND_KEY_DATA -> {
        requireAuthenticated(f);
        key = BackendKeyData.decode(f.body());
        logContext.backendPid(key.processId());
      }
      case ERROR_RESPONSE -> throw new ServerErrorException(ErrorResponse.decode(f.body()));
      case NOTICE_RESPONSE, NEGOTIATE_PROTOCOL_VERSION -> {}
      case READY_FOR_QUERY -> {
        requireAuthenticated(f);
        done = true;
        auth = null;
        FrameDecoder decoder = conn.channel().pipeline().get(FrameDecoder.class);
        if (decoder != null) {
          decoder.loginCompleted();
        }
        conn.session().moveTo(BackendState.IDLE);
        pool.learnDefaults(startupReport, ConnLog.ageMillis(createdNanos));
        ConnLog.debug(
            log,
            logContext,
            "logged in to {} as {} in {} ms",
            conn.channel().remoteAddress(),
            pool.key().user(),
            ConnLog.ageMillis(createdNanos));
        future.complete(conn);
      }
      default ->
          throw SluiceException.fatal(
              SqlState.PROTOCOL_VIOLATION,
              "unexpected message '" + (char) f.type() + "' from the upstream server during login");
    }
  }

  /**
   * PostgreSQL reports settings, its key and readiness only once it said AuthenticationOk; a server
   * that skips ahead may be an impostor that never checked (or proved) the password.
   */
  private void requireAuthenticated(Frame f) {
    if (auth == null || !auth.ok()) {
      throw SluiceException.protocolViolation(
          "message '" + (char) f.type() + "' from the upstream server before AuthenticationOk");
    }
  }

  private BackendAuth auth() {
    if (auth == null) {
      auth = new BackendAuth(conn.channel(), pool.key().user(), pool.password(), pool.scramKeys());
    }
    return auth;
  }

  /** The login failed: the future hears why, and the connection closes. */
  void fail(Throwable e) {
    if (future.completeExceptionally(e)) {
      ConnLog.debug(log, logContext, "login failed: {}", SafeErrors.describe(e));
    }
    Channel channel = conn.channel();
    if (channel != null) {
      channel.close();
    }
  }
}
