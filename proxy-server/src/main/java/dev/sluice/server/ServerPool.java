package dev.sluice.server;

import dev.sluice.auth.ScramKeyCache;
import dev.sluice.backend.BackendState;
import dev.sluice.engine.BackendPool;
import dev.sluice.error.SqlState;
import dev.sluice.logging.ConnLog;
import dev.sluice.logging.LogThrottle;
import dev.sluice.pool.AcquireCallback;
import dev.sluice.pool.ConnectionPool;
import dev.sluice.pool.PoolSettings;
import dev.sluice.protocol.BackendType;
import dev.sluice.protocol.Frame;
import dev.sluice.protocol.Severity;
import dev.sluice.protocol.backend.ErrorResponse;
import dev.sluice.session.SessionParameters;
import dev.sluice.session.StatementGenerations;
import dev.sluice.session.StatementKey;
import io.netty.channel.EventLoop;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

/**
 * The backends of one (database, user): the core {@link ConnectionPool} plus what Sluice learns
 * from the server (the ParameterStatus set it reports at login, which every client is shown at its
 * own login, and the startup settings it accepted: {@link CheckedSettings}) and the handling of
 * connections while they sit idle.
 */
final class ServerPool {
  private static final Logger log = LoggerFactory.getLogger(ServerPool.class);

  private final PoolKey key;
  private final ProxyContext ctx;
  private final ConnectionPool<ServerConnection> pool;
  private final ScramKeyCache scramKeys = new ScramKeyCache();
  private final ServerConnection.Sink idleSink = new IdleSink();
  private final CheckedSettings checkedSettings = new CheckedSettings();
  private volatile Map<String, String> serverDefaults;
  private volatile Set<String> reportedSettings = Set.of();

  ServerPool(PoolKey key, ProxyContext ctx) {
    this.key = key;
    this.ctx = ctx;
    this.pool =
        new ConnectionPool<>(
            settings(key, ctx.config()),
            affinity -> {
              EventLoop loop = affinity != null ? (EventLoop) affinity : ctx.anyLoop();
              return ctx.connectGuard()
                  .connect(run -> ctx.connector().connect(loop, this, run), loop);
            },
            System::nanoTime,
            ctx.logThrottle());
    if (ctx.paused()) {
      pool.pause();
    }
  }

  /** The core pool's limits for {@code key} under {@code c}. */
  static PoolSettings settings(PoolKey key, dev.sluice.config.ProxyConfig c) {
    return new PoolSettings(
        key.toString(),
        c.poolSize(),
        c.minIdle(),
        c.acquireTimeout(),
        c.serverLifetime(),
        c.serverIdleTimeout());
  }

  PoolKey key() {
    return key;
  }

  ConnectionPool<ServerConnection> pool() {
    return pool;
  }

  private final StatementGenerations statementGenerations = new StatementGenerations();

  /** Which server-side statement copies of this pool are current; shared by its backends. */
  StatementGenerations statementGenerations() {
    return statementGenerations;
  }

  LogThrottle logThrottle() {
    return ctx.logThrottle();
  }

  ScramKeyCache scramKeys() {
    return scramKeys;
  }

  int maxPreparedStatements() {
    return ctx.config().maxPreparedStatements();
  }

  String password() {
    return ctx.config().upstream().password();
  }

  /** Extra startup parameters for backends, from the upstream URL (application_name, options). */
  Map<String, String> upstreamStartupParameters() {
    return ctx.upstreamStartupParameters();
  }

  /**
   * Statements some backend of this pool has parsed successfully, most recent last, at most {@value
   * #KNOWN_STATEMENTS}: a client's Parse of one of these can be answered without a backend.
   */
  private static final int KNOWN_STATEMENTS = 10_000;

  private final LinkedHashMap<StatementKey, Boolean> known =
      new LinkedHashMap<>(64, 0.75f, true) {
        private static final long serialVersionUID = 1L;

        @Override
        protected boolean removeEldestEntry(Map.Entry<StatementKey, Boolean> eldest) {
          return size() > KNOWN_STATEMENTS;
        }
      };

  synchronized void rememberStatement(StatementKey key) {
    known.put(key, Boolean.TRUE);
  }

  synchronized boolean isKnownStatement(StatementKey key) {
    return known.get(key) != null;
  }

  ServerConnection.Sink idleSink() {
    return idleSink;
  }

  /** Lower-case names of the settings the server reports with ParameterStatus. */
  Set<String> reportedSettings() {
    return reportedSettings;
  }

  /** The server's reported settings as of the first login, or null before any login succeeded. */
  Map<String, String> serverDefaults() {
    return serverDefaults;
  }

  /** Records what the server reports at login; the first successful login wins. */
  void learnDefaults(Map<String, String> reported, long loginMillis) {
    ctx.stats().backendLogins.increment();
    ctx.stats().lastLoginMillis.set(loginMillis);
    if (serverDefaults == null) {
      serverDefaults = Collections.unmodifiableMap(new LinkedHashMap<>(reported));
      reportedSettings =
          reported.keySet().stream()
              .map(k -> k.toLowerCase(java.util.Locale.ROOT))
              .collect(java.util.stream.Collectors.toUnmodifiableSet());
    }
  }

  /**
   * Takes a backend back from a client. A reusable backend goes back to idle once any cancel aimed
   * at it has finished (so a late cancel cannot hit the next client's query).
   */
  void release(ServerConnection s, boolean reusable, String reason) {
    s.attach(idleSink);
    s.setAutoRead(true);
    if (!reusable) {
      pool.release(s, false, reason);
      return;
    }
    s.afterCancels(
        () -> {
          s.markUsed();
          s.session().moveTo(BackendState.IDLE);
          pool.release(s, true, reason);
        });
  }

  /**
   * Asks for a backend for a caller on {@code loop} (preferring one on that loop); the callback
   * runs there, with the backend already LINKED: it is the caller's until released.
   */
  ConnectionPool.Pending acquire(EventLoop loop, AcquireCallback<ServerConnection> callback) {
    var refusal = ctx.connectGuard().refusalIfOpen();
    if (refusal != null && pool.stats().idle() == 0) {
      // The upstream is down and nothing warm is left: say so now rather than after a backoff.
      loop.execute(() -> callback.done(null, refusal));
      return () -> {};
    }
    long start = System.nanoTime();
    return handOver(
        loop,
        (s, e) -> {
          // Measured here, around the core pool: a wait includes any check and replacement.
          ctx.meters().acquireWaited(start);
          callback.done(s, e);
        });
  }

  private ConnectionPool.Pending handOver(
      EventLoop loop, AcquireCallback<ServerConnection> callback) {
    return pool.acquire(
        loop,
        loop,
        loop,
        (s, e) -> {
          if (s == null) {
            callback.done(null, e);
          } else if (System.nanoTime() - s.idleSinceNanos()
              < ctx.config().serverCheckDelay().toNanos()) {
            s.session().moveTo(BackendState.LINKED);
            callback.done(s, null);
          } else {
            checkThenHandOver(s, loop, callback);
          }
        });
  }

  /**
   * A backend idle longer than {@code --server-check-delay} answers an empty query before it is
   * handed over; one that does not (the server restarted, the network dropped it) is closed and
   * another asked for, without the caller noticing. The answer must come within {@code
   * --connect-timeout}, the time a new backend would have to be ready: a connection the network
   * silently lost still takes the query (the kernel buffers it), so only the wait can tell.
   */
  private void checkThenHandOver(
      ServerConnection s, EventLoop loop, AcquireCallback<ServerConnection> callback) {
    s.setAutoRead(true);
    s.session().moveTo(BackendState.RESETTING);
    ScheduledFuture<?> silent =
        s.channel()
            .eventLoop()
            .schedule(
                () -> s.close("no answer to its check within --connect-timeout"),
                ctx.config().connectTimeout().toMillis(),
                TimeUnit.MILLISECONDS);
    InternalQuery.check(
        s,
        "",
        r -> {
          silent.cancel(false); // on the backend's loop, as the timer: one of the two wins
          loop.execute(
              () -> {
                if (r.ok()) {
                  s.markUsed();
                  s.session().moveTo(BackendState.LINKED);
                  callback.done(s, null);
                } else {
                  ctx.stats().failedChecks.increment();
                  pool.release(s, false, "failed its check after being idle");
                  handOver(loop, callback);
                }
              });
        });
  }

  /** This pool as a client session on {@code loop} uses it. */
  BackendPool forSession(EventLoop loop) {
    return new PoolSessionView(this, loop);
  }

  CancelForwarder cancelForwarder() {
    return ctx.cancelForwarder();
  }

  /** Runs reset queries on a backend nobody holds, then releases it (closed if they fail). */
  void resetAndRelease(ServerConnection s, List<String> queries, boolean clearsSettings) {
    s.setAutoRead(true);
    s.session().moveTo(BackendState.RESETTING);
    InternalQuery.run(
        s,
        queries,
        r -> {
          if (r.ok() && clearsSettings) {
            // DISCARD ALL (or the operator's reset) returned the backend to its defaults.
            s.session().reset();
          }
          release(s, r.ok(), r.ok() ? "released" : "reset failed");
        });
  }

  /** The startup settings some backend of this pool accepted, as the server spelled them. */
  CheckedSettings checkedSettings() {
    return checkedSettings;
  }

  /**
   * Checks a client's startup settings on the idle backend {@code s}, as PostgreSQL checks them at
   * login: {@code set_config(name, value, true)} for each, in one statement whose implicit
   * transaction ends at once, so whether it succeeds or fails the backend is left exactly as it
   * was. The backend goes back to the pool (closed if it is not idle afterwards, which cannot
   * normally happen); {@code done} gets the server's error, or null when every setting was
   * accepted, on the backend's event loop.
   */
  void checkSettings(
      ServerConnection s, Map<String, String> settings, Consumer<ErrorResponse> done) {
    s.setAutoRead(true);
    s.session().moveTo(BackendState.RESETTING);
    InternalQuery.check(
        s,
        SessionParameters.checkQuery(settings),
        r -> {
          release(s, r.idle(), r.idle() ? "settings checked" : "settings check failed");
          if (r.ok()) {
            checkedSettings.remember(settings, r.firstRow());
            done.accept(null);
          } else {
            done.accept(
                r.firstError() != null
                    ? r.firstError()
                    : ErrorResponse.of(
                        Severity.FATAL,
                        SqlState.CONNECTION_FAILURE.code(),
                        "the backend checking this client's settings went away",
                        null,
                        null));
          }
        });
  }

  /** Frames from a connection nobody holds: asynchronous notices, or the server saying goodbye. */
  private final class IdleSink implements ServerConnection.Sink {
    @Override
    public void onServerFrames(ServerConnection s, List<Frame> frames) {
      for (Frame f : frames) {
        try {
          if (f.type() == BackendType.ERROR_RESPONSE.code()) {
            ErrorResponse e = ErrorResponse.decode(f.body());
            ConnLog.throttled(
                ctx.logThrottle(),
                Level.INFO,
                log,
                s.logContext(),
                "idle server connection reported " + e.sqlState(),
                "{}",
                e.summary());
            if (e.isFatal()) {
              s.close("server sent " + e.sqlState());
            }
          }
        } catch (RuntimeException e) {
          s.close("undecodable message while idle");
        } finally {
          f.release();
        }
      }
    }

    @Override
    public void onServerWritable(ServerConnection s) {}

    @Override
    public void onServerClosed(ServerConnection s) {}
  }
}
