package dev.sluice.server.invalidation;

/**
 * A feed of writes that never pass through Sluice, delivered to a {@code CacheInvalidation}. Each
 * source reads on a daemon thread of its own, never throws out of it (a failure is logged, the
 * database flushed, and the connection retried with backoff), and can be asked for its status from
 * any thread.
 */
public interface InvalidationSource extends AutoCloseable {
  /** Starts the reading thread; returns at once. Calling it twice is an error. */
  void start();

  /** Where the source stands now. */
  InvalidationStatus status();

  /**
   * Stops reading, closes the connections (which drops a temporary replication slot), and waits for
   * the thread to end. Idempotent.
   */
  @Override
  void close();
}
