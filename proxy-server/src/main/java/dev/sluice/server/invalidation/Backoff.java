package dev.sluice.server.invalidation;

import java.time.Duration;
import java.util.function.DoubleSupplier;

/**
 * Waits between reconnects: doubling from {@code min} up to {@code max}, each wait drawn uniformly
 * from its upper half so that several Sluices that lost the same server do not return in lockstep.
 * A success resets it. Not thread-safe: one source's thread owns it.
 */
final class Backoff {
  private final long minNanos;
  private final long maxNanos;
  private final DoubleSupplier random;
  private long ceilingNanos;

  /**
   * @param random values in [0, 1)
   */
  Backoff(Duration min, Duration max, DoubleSupplier random) {
    if (min.isNegative() || min.isZero() || max.compareTo(min) < 0) {
      throw new IllegalArgumentException("backoff needs 0 < min <= max: " + min + ", " + max);
    }
    this.minNanos = min.toNanos();
    this.maxNanos = max.toNanos();
    this.random = random;
  }

  /** The next wait; each call doubles the ceiling until {@code max}. */
  Duration next() {
    ceilingNanos = ceilingNanos == 0 ? minNanos : Math.min(ceilingNanos * 2, maxNanos);
    long half = ceilingNanos / 2;
    return Duration.ofNanos(ceilingNanos - half + (long) (random.getAsDouble() * half));
  }

  void reset() {
    ceilingNanos = 0;
  }
}
