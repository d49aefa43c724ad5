package dev.sluice.backend;

import dev.sluice.state.StateMachine;

/**
 * Where a backend connection is in its life. Its login moves it to IDLE; from then on only its pool
 * moves it: handed to a client (LINKED), running Sluice's own queries while nobody holds it
 * (RESETTING: a reset, a rollback, a check of a client's settings), back to IDLE, or CLOSED.
 *
 * <pre>
 *   CONNECTING ─► AUTHENTICATING ─► IDLE ◄──► LINKED
 *                                     ▲  ◄──┐    │
 *                                     └─ RESETTING ◄┘
 *   any ─► CLOSED
 * </pre>
 */
public enum BackendState {
  CONNECTING,
  AUTHENTICATING,
  IDLE,
  LINKED,
  RESETTING,
  CLOSED;

  public static final StateMachine.Table<BackendState> TABLE =
      StateMachine.Table.of(BackendState.class)
          .allow(CONNECTING, AUTHENTICATING, CLOSED)
          .allow(AUTHENTICATING, IDLE, CLOSED)
          .allow(IDLE, LINKED, RESETTING, CLOSED)
          .allow(LINKED, IDLE, RESETTING, CLOSED)
          .allow(RESETTING, IDLE, LINKED, CLOSED);
}
