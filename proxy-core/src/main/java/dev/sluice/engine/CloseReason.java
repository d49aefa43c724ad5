package dev.sluice.engine;

/** Why a connection closed; logged once with the connection's age. */
public enum CloseReason {
  CLIENT_TERMINATE(false),
  CLIENT_EOF(false),
  CANCEL_REQUEST(false),
  PROTOCOL_VIOLATION(true),
  AUTHENTICATION_FAILED(true),
  LOGIN_FAILED(true),
  LOGIN_TIMEOUT(true),
  PUSHED_OUT_WHILE_LOGGING_IN(true),
  TOO_MANY_CLIENTS(true),
  SERVER_GONE(true),
  SERVER_FATAL(true),
  IO_ERROR(true),
  QUERY_TIMEOUT(true),
  IDLE_TRANSACTION_TIMEOUT(true),
  INTERNAL_ERROR(true),
  SHUTDOWN(false);

  private final boolean notable;

  CloseReason(boolean notable) {
    this.notable = notable;
  }

  /** Whether this close deserves an INFO line rather than DEBUG. */
  public boolean notable() {
    return notable;
  }
}
