package dev.sluice.pool;

/**
 * Warm-up connects (for {@code minIdle}, not for a waiting client) back off after failures, from
 * one second doubling to half a minute, so a database that is down is not hammered (nor the log
 * flooded) once a second; a success resets it. Failures of connects started together count once:
 * the wait grows per round of attempts. Not thread-safe: the pool calls it under its monitor.
 */
final class WarmUpBackoff {
  private static final long MIN_NANOS = 1_000_000_000L;
  private static final long MAX_NANOS = 30_000_000_000L;

  private long backoffNanos;
  private long nextNanos;

  /** Whether warm-up connects must wait at {@code now}. */
  boolean waiting(long now) {
    return backoffNanos > 0 && now - nextNanos < 0;
  }

  void failed(long now) {
    if (backoffNanos == 0 || now - nextNanos >= 0) {
      backoffNanos = backoffNanos == 0 ? MIN_NANOS : Math.min(backoffNanos * 2, MAX_NANOS);
      nextNanos = now + backoffNanos;
    }
  }

  void succeeded() {
    backoffNanos = 0;
  }
}
