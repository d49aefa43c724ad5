package dev.sluice.server;

import dev.sluice.engine.BackendPool;
import dev.sluice.engine.BackendPort;
import dev.sluice.engine.ClientSession;
import dev.sluice.pool.AcquireCallback;
import dev.sluice.pool.ConnectionPool;
import dev.sluice.protocol.Frame;
import dev.sluice.session.StatementGenerations;
import dev.sluice.session.StatementKey;
import io.netty.channel.EventLoop;
import java.util.List;
import java.util.Set;

/**
 * A {@link ServerPool} as one client session uses it: bound to the session's event loop, where
 * acquired backends are handed over (preferring those on the same loop) and where a linked
 * backend's frames and events are delivered.
 */
final class PoolSessionView implements BackendPool {
  private final ServerPool pool;
  private final EventLoop loop;

  PoolSessionView(ServerPool pool, EventLoop loop) {
    this.pool = pool;
    this.loop = loop;
  }

  @Override
  public String database() {
    return pool.key().database();
  }

  @Override
  public String user() {
    return pool.key().user();
  }

  @Override
  public ConnectionPool.Pending acquire(AcquireCallback<BackendPort> callback) {
    return pool.acquire(loop, callback::done);
  }

  @Override
  public void link(BackendPort backend, ClientSession session) {
    ((ServerConnection) backend).attach(new SessionSink(session, loop));
  }

  @Override
  public void release(BackendPort backend, boolean reusable, String reason) {
    pool.release((ServerConnection) backend, reusable, reason);
  }

  @Override
  public void resetAndRelease(BackendPort backend, List<String> queries, boolean clears) {
    pool.resetAndRelease((ServerConnection) backend, queries, clears);
  }

  @Override
  public boolean isKnownStatement(StatementKey key) {
    return pool.isKnownStatement(key);
  }

  @Override
  public void rememberStatement(StatementKey key) {
    pool.rememberStatement(key);
  }

  @Override
  public StatementGenerations statementGenerations() {
    return pool.statementGenerations();
  }

  @Override
  public Set<String> reportedSettings() {
    return pool.reportedSettings();
  }

  @Override
  public void cancel(BackendPort backend) {
    pool.cancelForwarder().forward((ServerConnection) backend);
  }

  /** Hands a linked backend's frames and events to its client session, on the client's loop. */
  private static final class SessionSink implements ServerConnection.Sink {
    private final ClientSession session;
    private final EventLoop loop;

    SessionSink(ClientSession session, EventLoop loop) {
      this.session = session;
      this.loop = loop;
    }

    @Override
    public void onServerFrames(ServerConnection s, List<Frame> frames) {
      if (loop.inEventLoop()) {
        session.onBackendFrames(s, frames);
      } else {
        loop.execute(() -> session.onBackendFrames(s, frames));
      }
    }

    @Override
    public void onServerWritable(ServerConnection s) {
      loop.execute(() -> session.onBackendWritable(s));
    }

    @Override
    public void onServerClosed(ServerConnection s) {
      // Always a task of its own, even on the same loop: attach() may report a close at once.
      loop.execute(() -> session.onBackendClosed(s));
    }
  }
}
