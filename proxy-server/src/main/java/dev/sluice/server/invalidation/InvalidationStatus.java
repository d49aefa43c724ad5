package dev.sluice.server.invalidation;

import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A snapshot of one invalidation source, for the admin port.
 *
 * @param source {@code notify} or {@code wal}
 * @param state where the source stands
 * @param since when it entered that state
 * @param lastError the latest failure (or, when {@link SourceState#UNAVAILABLE}, why), rendered by
 *     {@code SafeErrors}; null when there was none
 * @param invalidations table invalidations delivered to the cache
 * @param flushes whole-database invalidations (connection lost, resubscribed, fell behind, a NOTIFY
 *     without a table)
 * @param reconnects subscriptions re-established after a loss
 * @param slot the WAL source's current replication slot; null for NOTIFY or when there is none
 * @param lag how far behind commits the WAL source was at the last transaction it read; null when
 *     not measured
 */
public record InvalidationStatus(
    String source,
    SourceState state,
    Instant since,
    String lastError,
    long invalidations,
    long flushes,
    long reconnects,
    String slot,
    Duration lag) {

  /** For the admin port's JSON: times as ISO-8601 text and milliseconds, absent values left out. */
  public Map<String, Object> asMap() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("source", source);
    m.put("state", state.name());
    m.put("since", since.toString());
    if (lastError != null) {
      m.put("lastError", lastError);
    }
    m.put("invalidations", invalidations);
    m.put("flushes", flushes);
    m.put("reconnects", reconnects);
    if (slot != null) {
      m.put("slot", slot);
    }
    if (lag != null) {
      m.put("lagMillis", lag.toMillis());
    }
    return m;
  }
}
