package dev.sluice.resilience;

import dev.sluice.error.SluiceException;
import dev.sluice.error.SqlState;
import dev.sluice.protocol.Severity;

/**
 * The upstream failed every recent connect, so Sluice does not try again until its circuit breaker
 * lets a probe through: clients hear at once (57P03, the server "cannot connect now") instead of
 * waiting for connects that will fail.
 */
public final class CircuitOpenException extends SluiceException {
  private static final long serialVersionUID = 1L;

  public CircuitOpenException(String upstream, String lastFailure) {
    super(
        SqlState.CANNOT_CONNECT_NOW,
        Severity.ERROR,
        "the upstream server "
            + upstream
            + " is unavailable: its recent connects all failed"
            + (lastFailure == null ? "" : "; the last: " + lastFailure),
        "Sluice tries again shortly and lets traffic through as soon as a connect succeeds.",
        null,
        null);
  }
}
