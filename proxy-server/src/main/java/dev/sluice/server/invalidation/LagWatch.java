package dev.sluice.server.invalidation;

import java.time.Duration;
import org.slf4j.Logger;

/**
 * How far the WAL source is behind the commits it reads, and what that costs: while the lag exceeds
 * the limit, cached results may be older than writes already committed, so the database is flushed
 * when that begins and again once per limit while it lasts. The start and the end of each episode
 * are logged once. Times are microseconds on the server's clock. Not thread-safe: the reading
 * thread owns it.
 */
final class LagWatch {
  private final long limitMicros;
  private final Runnable flush;
  private final Logger log;
  private final String database;
  private boolean behind;
  private long lastFlushMicros;

  LagWatch(Duration limit, Runnable flush, Logger log, String database) {
    this.limitMicros = Math.max(1, limit.toNanos() / 1000);
    this.flush = flush;
    this.log = log;
    this.database = database;
  }

  /** A new subscription starts with a flush of its own: forget the last episode. */
  void reset() {
    behind = false;
  }

  /**
   * A transaction that committed at {@code commitMicros} is being read at {@code nowMicros}.
   *
   * @return the lag, never negative
   */
  Duration observe(long nowMicros, long commitMicros) {
    long lag = Math.max(0, nowMicros - commitMicros);
    if (lag > limitMicros) {
      if (!behind || nowMicros - lastFlushMicros >= limitMicros) {
        lastFlushMicros = nowMicros;
        flush.run();
      }
      if (!behind) {
        behind = true;
        log.warn(
            "WAL invalidation of {} is {} ms behind the commits it reads (limit {} ms): database"
                + " invalidated, and again every {} ms while it lasts",
            database,
            lag / 1000,
            limitMicros / 1000.0,
            limitMicros / 1000.0);
      }
    } else if (behind && lag < limitMicros / 2) {
      behind = false;
      log.info("WAL invalidation of {} caught up: {} ms behind the commits", database, lag / 1000);
    }
    return Duration.ofNanos(lag * 1000);
  }

  boolean behind() {
    return behind;
  }
}
