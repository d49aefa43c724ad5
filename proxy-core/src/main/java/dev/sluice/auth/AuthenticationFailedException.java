package dev.sluice.auth;

import dev.sluice.error.SluiceException;
import dev.sluice.error.SqlState;
import dev.sluice.protocol.Severity;

/**
 * A client gave the wrong password, or named a user Sluice does not know (the two must look the
 * same from outside). Its message is PostgreSQL's own, so clients and their users see what they
 * would see from the server.
 */
public final class AuthenticationFailedException extends SluiceException {
  private static final long serialVersionUID = 1L;

  public AuthenticationFailedException(String user) {
    super(
        SqlState.INVALID_PASSWORD,
        Severity.FATAL,
        "password authentication failed for user \"" + user + "\"");
  }
}
