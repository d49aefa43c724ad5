package dev.sluice.backend;

import dev.sluice.session.ServerStatements;
import dev.sluice.session.StatementGenerations;
import dev.sluice.state.IllegalTransitionException;
import dev.sluice.state.StateMachine;
import java.util.HashMap;
import java.util.Map;

/**
 * What one backend connection carries on behalf of the clients it serves, in one place: its state
 * ({@link BackendState}), the settings Sluice brought it to ({@link #applied()}, see {@code
 * SessionParameters}) and the prepared statements it holds under Sluice's names ({@link
 * #statements()}). Whoever holds the backend owns the settings and statements: the client session
 * linked to it, or its pool while it is idle or resetting; {@link #reset()} is the one way to
 * forget them, after the server itself dropped them ({@code DISCARD ALL}).
 *
 * <p>The state is changed from the backend's own event loop (login, close) and by its pool from
 * clients' loops (link, release), so its transitions are synchronized. CLOSED is final: a later
 * move is refused quietly (a backend can die while it is being handed over), any other illegal move
 * is a bug and throws.
 */
public final class BackendSession {
  private final StateMachine<BackendState> state;
  private final Map<String, String> applied = new HashMap<>();
  private final ServerStatements statements;

  /**
   * @param generations the pool's, shared by its backends (see {@link StatementGenerations})
   */
  public BackendSession(
      int maxPreparedStatements,
      StatementGenerations generations,
      StateMachine.Listener<BackendState> listener) {
    this.state = new StateMachine<>(BackendState.TABLE, BackendState.CONNECTING, listener);
    this.statements = new ServerStatements(maxPreparedStatements, generations);
  }

  public synchronized BackendState state() {
    return state.state();
  }

  /**
   * Moves to {@code next}.
   *
   * @return false when the backend is already CLOSED (the move is dropped)
   * @throws IllegalTransitionException for any other move the table does not allow
   */
  public synchronized boolean moveTo(BackendState next) {
    if (state.is(BackendState.CLOSED)) {
      return false;
    }
    state.transitionTo(next);
    return true;
  }

  /** Settings as Sluice last brought this backend in line; lower-case names. */
  public Map<String, String> applied() {
    return applied;
  }

  public ServerStatements statements() {
    return statements;
  }

  /** The server dropped its session state (DISCARD ALL): nothing applied, no statements. */
  public void reset() {
    applied.clear();
    statements.clear();
  }
}
