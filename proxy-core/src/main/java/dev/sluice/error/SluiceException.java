package dev.sluice.error;

import dev.sluice.protocol.Severity;
import dev.sluice.protocol.backend.ErrorResponse;

/**
 * An error raised by Sluice itself. It carries its SQLSTATE and severity from the moment it is
 * thrown, and {@link #toErrorResponse()} is exactly what the client receives. These are routine
 * outcomes (a wrong password, a full pool), so they carry no stack trace.
 */
public class SluiceException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final SqlState state;
  private final Severity severity;
  private final String detail;
  private final String hint;

  public SluiceException(SqlState state, Severity severity, String message) {
    this(state, severity, message, null, null, null);
  }

  public SluiceException(
      SqlState state,
      Severity severity,
      String message,
      String detail,
      String hint,
      Throwable cause) {
    super(message, cause, false, false);
    this.state = state;
    this.severity = severity;
    this.detail = detail;
    this.hint = hint;
  }

  public static SluiceException protocolViolation(String message) {
    return new SluiceException(SqlState.PROTOCOL_VIOLATION, Severity.FATAL, message);
  }

  public static SluiceException fatal(SqlState state, String message) {
    return new SluiceException(state, Severity.FATAL, message);
  }

  public static SluiceException error(SqlState state, String message) {
    return new SluiceException(state, Severity.ERROR, message);
  }

  public SqlState state() {
    return state;
  }

  public Severity severity() {
    return severity;
  }

  public ErrorResponse toErrorResponse() {
    return ErrorResponse.of(severity, state.code(), getMessage(), detail, hint);
  }
}
