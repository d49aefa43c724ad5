package dev.sluice.engine;

import dev.sluice.error.SafeErrors;
import dev.sluice.error.ServerErrorException;
import dev.sluice.error.SluiceException;
import dev.sluice.error.SqlState;
import dev.sluice.protocol.Severity;
import dev.sluice.protocol.backend.ErrorResponse;
import java.util.LinkedHashMap;
import java.util.Map;

/** The errors a client session sends itself, shaped as PostgreSQL would send them. */
public final class SessionErrors {
  private SessionErrors() {}

  /** A failure to get a backend, as this still-usable session's error. */
  public static ErrorResponse forSession(Throwable failure) {
    if (failure instanceof ServerErrorException se) {
      // The server refused a new backend connection (for example it is at max_connections):
      // its code and message, but the client's own session lives on.
      return withSeverity(se.error(), "ERROR");
    }
    if (failure instanceof SluiceException e) {
      ErrorResponse r = e.toErrorResponse();
      return e.state() == SqlState.ADMIN_SHUTDOWN ? r : withSeverity(r, "ERROR");
    }
    return ErrorResponse.of(
        Severity.ERROR,
        SqlState.CONNECTION_FAILURE.code(),
        "could not get a backend connection: " + SafeErrors.describe(failure),
        null,
        null);
  }

  /** 42P05, as PostgreSQL words it. */
  public static ErrorResponse duplicateStatement(String name) {
    return ErrorResponse.of(
        Severity.ERROR,
        SqlState.DUPLICATE_PREPARED_STATEMENT.code(),
        "prepared statement \"" + name + "\" already exists",
        null,
        null);
  }

  /** 26000, as PostgreSQL words it. */
  public static ErrorResponse unknownStatement(String name) {
    return ErrorResponse.of(
        Severity.ERROR,
        SqlState.INVALID_SQL_STATEMENT_NAME.code(),
        "prepared statement \"" + name + "\" does not exist",
        null,
        null);
  }

  public static ErrorResponse asFatal(ErrorResponse e) {
    return withSeverity(e, "FATAL");
  }

  public static ErrorResponse withSeverity(ErrorResponse e, String severity) {
    Map<Character, String> fields = new LinkedHashMap<>(e.fields());
    fields.put(ErrorResponse.SEVERITY, severity);
    fields.put(ErrorResponse.SEVERITY_V, severity);
    return new ErrorResponse(fields);
  }
}
