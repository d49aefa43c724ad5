package dev.sluice.relay;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The faults of one direction of the relay. They apply to every connection, open or new, and can be
 * changed while bytes flow.
 *
 * @param latency how long each chunk of bytes is held before it is passed on; order is kept
 * @param bytesPerSecond the most each connection passes on per second in this direction; 0 for no
 *     limit
 * @param blackHole nothing is read or passed on (what was already read is held, not lost, and flows
 *     again once the black hole ends, as TCP would retransmit it after a partition heals)
 * @param closeAfter a connection that has passed on this many more bytes in this direction is
 *     closed (FIN), counted from when the limit was set or the connection opened; -1 for none
 */
public record Faults(Duration latency, long bytesPerSecond, boolean blackHole, long closeAfter) {
  /** No fault: bytes pass as fast as they come. */
  public static final Faults NONE = new Faults(Duration.ZERO, 0, false, -1);

  public Faults {
    if (latency == null || latency.isNegative()) {
      throw new IllegalArgumentException("latency must be zero or more: " + latency);
    }
    if (bytesPerSecond < 0) {
      throw new IllegalArgumentException(
          "bandwidth must be zero (none) or more: " + bytesPerSecond);
    }
    if (closeAfter < -1) {
      throw new IllegalArgumentException("close-after must be -1 (none) or more: " + closeAfter);
    }
  }

  public Faults withLatency(Duration d) {
    return new Faults(d, bytesPerSecond, blackHole, closeAfter);
  }

  public Faults withBandwidth(long perSecond) {
    return new Faults(latency, perSecond, blackHole, closeAfter);
  }

  public Faults withBlackHole(boolean on) {
    return new Faults(latency, bytesPerSecond, on, closeAfter);
  }

  public Faults withCloseAfter(long bytes) {
    return new Faults(latency, bytesPerSecond, blackHole, bytes);
  }

  @Override
  public String toString() {
    List<String> parts = new ArrayList<>();
    if (!latency.isZero()) {
      parts.add("latency " + latency.toMillis() + "ms");
    }
    if (bytesPerSecond > 0) {
      parts.add("bandwidth " + bytesPerSecond + " B/s");
    }
    if (blackHole) {
      parts.add("black hole");
    }
    if (closeAfter >= 0) {
      parts.add("close after " + closeAfter + " B");
    }
    return parts.isEmpty() ? "none" : String.join(", ", parts);
  }
}
