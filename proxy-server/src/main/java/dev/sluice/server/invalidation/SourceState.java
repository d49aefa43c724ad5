package dev.sluice.server.invalidation;

import java.util.EnumSet;
import java.util.Set;

/**
 * Where an invalidation source stands, for the admin port. Only {@link #STREAMING} means the cache
 * hears of writes made outside Sluice; in every other state it relies on max-age.
 *
 * <p>Legal moves: STARTING to STREAMING, RECONNECTING or UNAVAILABLE; STREAMING to RECONNECTING or
 * UNAVAILABLE; RECONNECTING to STREAMING, UNAVAILABLE or itself (another failed attempt); any state
 * to STOPPED when closed. UNAVAILABLE and STOPPED are final but for that last move.
 */
public enum SourceState {
  /** Started, not yet subscribed (connecting, checking settings, creating the slot). */
  STARTING,
  /** Subscribed: changes are delivered as they commit. */
  STREAMING,
  /** The connection failed; retrying with backoff. The database was flushed when it was lost. */
  RECONNECTING,
  /**
   * The server cannot serve this source (wal_level, privileges, version): given up until Sluice
   * restarts. The reason says what to change.
   */
  UNAVAILABLE,
  /** Closed. */
  STOPPED;

  /** Whether a source in this state may move to {@code next}. */
  public boolean canBecome(SourceState next) {
    return successors().contains(next);
  }

  private Set<SourceState> successors() {
    return switch (this) {
      case STARTING -> EnumSet.of(STREAMING, RECONNECTING, UNAVAILABLE, STOPPED);
      case STREAMING -> EnumSet.of(RECONNECTING, UNAVAILABLE, STOPPED);
      case RECONNECTING -> EnumSet.of(STREAMING, RECONNECTING, UNAVAILABLE, STOPPED);
      case UNAVAILABLE -> EnumSet.of(STOPPED);
      case STOPPED -> EnumSet.noneOf(SourceState.class);
    };
  }
}
