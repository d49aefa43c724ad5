package dev.sluice.engine;

import dev.sluice.state.StateMachine;

/**
 * Where a client connection is in its life. The login states are driven by the connection's
 * handler, the rest by its {@link ClientSession}; both through one {@link StateMachine} against
 * {@link #TABLE}.
 *
 * <pre>
 *   AWAITING_STARTUP ─► AUTHENTICATING ─► LOGGING_IN ─► IDLE ◄──────────────────────┐
 *                                                        │ a request                 │ released
 *                                                        ▼                           │
 *                                          WAITING_FOR_BACKEND ─► SYNCING_SETTINGS ─► ACTIVE
 *                                                        │ none had: errors     └────────┘
 *                                                        └─► IDLE
 *   any ─► CLOSED
 * </pre>
 */
public enum ClientState {
  /** Connected; startup packet (or SSLRequest, CancelRequest) expected. */
  AWAITING_STARTUP,
  /** Password or SASL exchange in progress. */
  AUTHENTICATING,
  /** Authenticated; Sluice checks what PostgreSQL would check at login (settings, database). */
  LOGGING_IN,
  /** Logged in, holding no backend (transaction mode between transactions). */
  IDLE,
  /** Requests queued until the pool hands over a backend. */
  WAITING_FOR_BACKEND,
  /** Linked; the client's settings are being applied before its requests go out. */
  SYNCING_SETTINGS,
  /** Linked, requests and replies flowing. */
  ACTIVE,
  /** Gone. */
  CLOSED;

  public static final StateMachine.Table<ClientState> TABLE =
      StateMachine.Table.of(ClientState.class)
          .allow(AWAITING_STARTUP, AUTHENTICATING, CLOSED)
          .allow(AUTHENTICATING, LOGGING_IN, CLOSED)
          .allow(LOGGING_IN, IDLE, CLOSED)
          .allow(IDLE, WAITING_FOR_BACKEND, CLOSED)
          .allow(WAITING_FOR_BACKEND, SYNCING_SETTINGS, ACTIVE, IDLE, CLOSED)
          .allow(SYNCING_SETTINGS, ACTIVE, WAITING_FOR_BACKEND, CLOSED)
          // back to waiting: a batch replayed on another backend after its backend went away
          .allow(ACTIVE, IDLE, WAITING_FOR_BACKEND, CLOSED);

  /** Whether the client has completed its login. */
  public boolean loggedIn() {
    return compareTo(IDLE) >= 0 && this != CLOSED;
  }
}
