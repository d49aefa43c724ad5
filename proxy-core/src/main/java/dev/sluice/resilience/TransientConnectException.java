package dev.sluice.resilience;

import dev.sluice.error.SluiceException;
import dev.sluice.error.SqlState;
import dev.sluice.protocol.Severity;

/**
 * A backend connect that failed on the way, not on the server's say: refused, reset, timed out,
 * closed during login. Trying again may work (08001).
 */
public final class TransientConnectException extends SluiceException {
  private static final long serialVersionUID = 1L;

  public TransientConnectException(String message) {
    super(SqlState.SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION, Severity.FATAL, message);
  }
}
