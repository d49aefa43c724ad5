package dev.sluice.engine;

import dev.sluice.pool.AcquireCallback;
import dev.sluice.pool.ConnectionPool;
import dev.sluice.session.StatementGenerations;
import dev.sluice.session.StatementKey;
import java.util.List;
import java.util.Set;

/**
 * The pool one client session draws its backends from, as the session sees it: bound to the
 * client's event loop (callbacks run there; backends on that loop are preferred).
 */
public interface BackendPool {
  /** The database this pool's backends are connected to. */
  String database();

  /** The user this pool's backends are logged in as. */
  String user();

  /** Asks for a backend; {@code callback} runs on the client's event loop. */
  ConnectionPool.Pending acquire(AcquireCallback<BackendPort> callback);

  /** Makes {@code session} the receiver of {@code backend}'s frames and events. */
  void link(BackendPort backend, ClientSession session);

  /** Takes a backend back; not {@code reusable} closes it. */
  void release(BackendPort backend, boolean reusable, String reason);

  /**
   * Runs {@code queries} on a backend its client left, then releases it (closed if they fail);
   * {@code clearsSession}: they returned the server session to its defaults.
   */
  void resetAndRelease(BackendPort backend, List<String> queries, boolean clearsSession);

  /** Whether some backend of this pool parsed {@code key} successfully. */
  boolean isKnownStatement(StatementKey key);

  void rememberStatement(StatementKey key);

  /** Which server-side copies of this pool's statements are current. */
  StatementGenerations statementGenerations();

  /** Lower-case names of the settings the server reports with ParameterStatus. */
  Set<String> reportedSettings();

  /** Forwards a cancel request to {@code backend}'s server process. */
  void cancel(BackendPort backend);
}
