package dev.sluice.server;

import dev.sluice.engine.CloseReason;
import dev.sluice.engine.SessionErrors;
import dev.sluice.error.SafeErrors;
import dev.sluice.error.ServerErrorException;
import dev.sluice.error.SluiceException;
import dev.sluice.error.SqlState;
import dev.sluice.protocol.ProtocolViolationException;
import dev.sluice.protocol.Severity;
import dev.sluice.protocol.backend.ErrorResponse;

/** The errors that end a client connection before or at login, and why it closed. */
final class LoginErrors {
  private LoginErrors() {}

  /** A close: its reason for the log, and the FATAL error the client is sent. */
  record Ending(CloseReason reason, ErrorResponse error) {}

  static ErrorResponse tooManyClients(int max) {
    return new SluiceException(
            SqlState.TOO_MANY_CONNECTIONS,
            Severity.FATAL,
            "sorry, too many clients already",
            "Sluice accepts at most " + max + " client connections (--max-client-connections).",
            null,
            null)
        .toErrorResponse();
  }

  static ErrorResponse pushedOut(int maxPendingLogins) {
    return new SluiceException(
            SqlState.TOO_MANY_CONNECTIONS,
            Severity.FATAL,
            "sorry, too many clients are logging in",
            "This connection was the oldest of "
                + maxPendingLogins
                + " that had not completed their login (--max-pending-logins).",
            null,
            null)
        .toErrorResponse();
  }

  /**
   * An address locked by its failed logins ({@link dev.sluice.auth.FailedLogins}): 28P01, the
   * SQLSTATE of a failed password, so that drivers and pools treat it as the authentication failure
   * it is and do not retry at once, as they would retry 53300; the message says what happened, so
   * that someone who knows the password understands why it is refused.
   */
  static ErrorResponse loginsLocked(java.time.Duration left, int limit) {
    long seconds = Math.max(1, (left.toMillis() + 999) / 1000);
    return new SluiceException(
            SqlState.INVALID_PASSWORD,
            Severity.FATAL,
            "too many failed logins from this address; try again in " + seconds + " s",
            "Sluice refuses logins from an address for --login-failure-window after "
                + limit
                + " failed logins (--login-failure-limit).",
            null,
            null)
        .toErrorResponse();
  }

  /**
   * A role that may not use the admin console: PgBouncer's words ("not allowed") and PostgreSQL's
   * SQLSTATE for a role refused at login.
   */
  static ErrorResponse consoleNotAllowed(String user) {
    return new SluiceException(
            SqlState.INVALID_AUTHORIZATION_SPECIFICATION,
            Severity.FATAL,
            "not allowed",
            "Role \"" + user + "\" may not use the admin console; --admin-users lists who may.",
            null,
            null)
        .toErrorResponse();
  }

  /** PostgreSQL's words (and SQLSTATE) for authentication_timeout. */
  static ErrorResponse loginTimeout() {
    return SluiceException.fatal(SqlState.QUERY_CANCELED, "canceling authentication due to timeout")
        .toErrorResponse();
  }

  /**
   * How a failure ends the connection: the server's own error as it said it, Sluice's with its
   * SQLSTATE, anything else as a connection failure (the caller logs it).
   */
  static Ending forFailure(Throwable cause) {
    Throwable t =
        cause instanceof ProtocolViolationException p
            ? SluiceException.protocolViolation(p.getMessage())
            : cause;
    if (t instanceof ServerErrorException se) {
      return new Ending(CloseReason.LOGIN_FAILED, se.error());
    }
    if (!(t instanceof SluiceException e)) {
      return new Ending(
          CloseReason.INTERNAL_ERROR,
          ErrorResponse.of(
              Severity.FATAL,
              SqlState.CONNECTION_FAILURE.code(),
              "could not serve this connection: " + SafeErrors.describe(t),
              null,
              null));
    }
    CloseReason reason =
        switch (e.state()) {
          case PROTOCOL_VIOLATION -> CloseReason.PROTOCOL_VIOLATION;
          case INVALID_PASSWORD, INVALID_AUTHORIZATION_SPECIFICATION ->
              CloseReason.AUTHENTICATION_FAILED;
          default -> CloseReason.LOGIN_FAILED;
        };
    return new Ending(reason, SessionErrors.asFatal(e.toErrorResponse()));
  }
}
