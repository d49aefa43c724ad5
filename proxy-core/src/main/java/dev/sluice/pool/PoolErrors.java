package dev.sluice.pool;

import dev.sluice.error.SafeErrors;
import dev.sluice.error.SluiceException;
import dev.sluice.error.SqlState;
import dev.sluice.protocol.Severity;
import java.util.concurrent.CompletionException;

/** The failures a {@link ConnectionPool} hands its waiters, worded once. */
final class PoolErrors {
  private PoolErrors() {}

  /** The failure a connect ended with, out of the wrappers its future added. */
  static Throwable unwrap(Throwable t) {
    Throwable c = t;
    while (c instanceof CompletionException && c.getCause() != null) {
      c = c.getCause();
    }
    return c == null ? new IllegalStateException("connect returned nothing") : c;
  }

  /** 53300, saying what the pool looked like and the last real connect failure, if any. */
  static SluiceException acquireTimedOut(
      PoolSettings settings, PoolStats s, Throwable lastFailure, boolean wasPaused) {
    return new SluiceException(
        SqlState.TOO_MANY_CONNECTIONS,
        Severity.ERROR,
        "no backend connection available within "
            + settings.acquireTimeout().toMillis()
            + " ms (pool "
            + settings.name()
            + ": "
            + s
            + (wasPaused ? ", paused by an administrator" : "")
            + ")",
        lastFailure == null
            ? null
            : "Last backend connect failure: " + SafeErrors.describe(lastFailure),
        "Raise --pool-size or --acquire-timeout, or shorten transactions.",
        null);
  }
}
