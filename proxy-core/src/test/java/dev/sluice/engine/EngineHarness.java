package dev.sluice.engine;

import dev.sluice.backend.BackendSession;
import dev.sluice.backend.BackendState;
import dev.sluice.cache.ResultCache;
import dev.sluice.config.HostAndPort;
import dev.sluice.config.PoolMode;
import dev.sluice.config.ProxyConfig;
import dev.sluice.config.ProxyConfigBuilder;
import dev.sluice.config.Upstream;
import dev.sluice.logging.LogThrottle;
import dev.sluice.pool.AcquireCallback;
import dev.sluice.pool.ConnectionPool;
import dev.sluice.protocol.Frame;
import dev.sluice.protocol.backend.ErrorResponse;
import dev.sluice.session.SessionParameters;
import dev.sluice.session.StatementGenerations;
import dev.sluice.session.StatementKey;
import dev.sluice.state.StateMachine;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * One client session engine with a scripted client, scripted backends and a scripted pool: no
 * sockets, no threads, no PostgreSQL. A test sends client messages, hands over backends, plays the
 * backends' answers, and reads what the engine wrote each way.
 */
final class EngineHarness {
  final ProxyStats stats = new ProxyStats();
  final StatementGenerations generations = new StatementGenerations();
  final StateMachine<ClientState> machine =
      new StateMachine<>(ClientState.TABLE, ClientState.AWAITING_STARTUP);
  final Client client = new Client();
  final Pool pool = new Pool();
  final ClientSession session;

  EngineHarness(PoolMode mode) {
    this(b -> b.poolMode(mode), Map.of());
  }

  EngineHarness(UnaryOperator<ProxyConfigBuilder> tweak, Map<String, String> startup) {
    this(tweak, startup, null, ReplayPolicy.NEVER);
  }

  EngineHarness(ResultCache cache, ReplayPolicy replay) {
    this(b -> b, Map.of(), cache, replay);
  }

  EngineHarness(
      UnaryOperator<ProxyConfigBuilder> tweak,
      Map<String, String> startup,
      ResultCache cache,
      ReplayPolicy replay) {
    Upstream up =
        new Upstream(
            List.of(new HostAndPort("127.0.0.1", 1)),
            "db",
            "app",
            "secret",
            Upstream.SslMode.DISABLE,
            Map.of());
    ProxyConfig config = tweak.apply(ProxyConfig.builder(up)).build();
    machine.transitionTo(ClientState.AUTHENTICATING);
    machine.transitionTo(ClientState.LOGGING_IN);
    session =
        new ClientSession(
            config,
            stats,
            new LogThrottle(1_000_000_000L, System::nanoTime),
            machine,
            client,
            "c1",
            pool,
            SessionParameters.fromStartup(startup),
            cache,
            replay);
  }

  /** Client messages, as one read. */
  void fromClient(Frame... frames) {
    for (Frame f : frames) {
      session.onMessage(f);
    }
    session.onReadComplete();
  }

  /** Backend frames, as one read. */
  void fromBackend(Backend b, Frame... frames) {
    session.onBackendFrames(b, new ArrayList<>(List.of(frames)));
  }

  Backend newBackend(String id) {
    Backend b = new Backend(id, generations);
    b.session().moveTo(BackendState.AUTHENTICATING);
    b.session().moveTo(BackendState.IDLE);
    return b;
  }

  /** The pool hands {@code b} to the waiting session, as the real pool would: LINKED. */
  void grant(Backend b) {
    b.session().moveTo(BackendState.LINKED);
    pool.waiters.poll().done(b, null);
  }

  /** The scripted client: records what the engine writes and how it closes. */
  final class Client implements ClientPort {
    final List<ByteBuf> written = new ArrayList<>();
    boolean reading = true;
    int flushes;
    CloseReason closedFor;
    ErrorResponse closeError;

    @Override
    public ByteBufAllocator alloc() {
      return UnpooledByteBufAllocator.DEFAULT;
    }

    @Override
    public void write(ByteBuf buf) {
      written.add(buf);
    }

    @Override
    public void flush() {
      flushes++;
    }

    @Override
    public boolean isWritable() {
      return true;
    }

    @Override
    public void setReading(boolean on) {
      reading = on;
    }

    @Override
    public boolean isReading() {
      return reading;
    }

    /** As the connection handler does: CLOSED, then the session settles its backend. */
    @Override
    public void close(CloseReason reason, ErrorResponse error) {
      if (closedFor != null) {
        return;
      }
      closedFor = reason;
      closeError = error;
      if (error != null) {
        ByteBuf out = alloc().buffer();
        error.encode(out);
        written.add(out);
      }
      machine.transitionTo(ClientState.CLOSED);
      session.close();
    }

    /** What the client received since the last call. */
    List<String> received() {
      return Wire.summarize(written, true);
    }
  }

  /** A scripted backend: records what the engine sends it. */
  static final class Backend implements BackendPort {
    final String id;
    final BackendSession session;
    final List<ByteBuf> sent = new ArrayList<>();
    boolean open = true;
    boolean reading = true;
    boolean writable = true;
    String closedBecause;

    Backend(String id, StatementGenerations generations) {
      this.id = id;
      this.session = new BackendSession(200, generations, (f, t) -> {});
    }

    @Override
    public String id() {
      return id;
    }

    @Override
    public BackendSession session() {
      return session;
    }

    @Override
    public void write(ByteBuf buf) {
      sent.add(buf);
    }

    @Override
    public void flush() {}

    @Override
    public boolean isWritable() {
      return writable;
    }

    @Override
    public void setReading(boolean on) {
      reading = on;
    }

    @Override
    public boolean isOpen() {
      return open;
    }

    @Override
    public void close(String reason) {
      open = false;
      closedBecause = reason;
    }

    /** What the backend received since the last call. */
    List<String> received() {
      return Wire.summarize(sent, false);
    }

    void release() {
      sent.forEach(ByteBuf::release);
      sent.clear();
    }
  }

  /** The scripted pool: waiters wait until the test grants a backend or fails them. */
  final class Pool implements BackendPool {
    final ArrayDeque<AcquireCallback<BackendPort>> waiters = new ArrayDeque<>();
    final List<String> events = new ArrayList<>();
    final Set<StatementKey> known = new HashSet<>();
    final Set<String> reported = new HashSet<>(Set.of("application_name", "datestyle"));
    int cancels;

    @Override
    public String database() {
      return "db";
    }

    @Override
    public String user() {
      return "app";
    }

    @Override
    public ConnectionPool.Pending acquire(AcquireCallback<BackendPort> callback) {
      waiters.add(callback);
      events.add("acquire");
      return () -> {
        waiters.remove(callback);
        events.add("acquire cancelled");
      };
    }

    @Override
    public void link(BackendPort backend, ClientSession s) {
      events.add("link " + backend.id());
    }

    @Override
    public void release(BackendPort backend, boolean reusable, String reason) {
      events.add("release " + backend.id() + (reusable ? "" : " closed") + ": " + reason);
      if (reusable) {
        backend.session().moveTo(BackendState.IDLE);
      }
    }

    @Override
    public void resetAndRelease(BackendPort backend, List<String> queries, boolean clears) {
      events.add("reset " + backend.id() + " " + queries);
    }

    @Override
    public boolean isKnownStatement(StatementKey key) {
      return known.contains(key);
    }

    @Override
    public void rememberStatement(StatementKey key) {
      known.add(key);
    }

    @Override
    public StatementGenerations statementGenerations() {
      return generations;
    }

    @Override
    public Set<String> reportedSettings() {
      return reported;
    }

    @Override
    public void cancel(BackendPort backend) {
      cancels++;
      events.add("cancel " + backend.id());
    }

    /** The events since the last call. */
    List<String> events() {
      List<String> e = List.copyOf(events);
      events.clear();
      return e;
    }
  }

  /** Engine in transaction mode with default settings. */
  static EngineHarness transactionMode() {
    return new EngineHarness(PoolMode.TRANSACTION);
  }
}
