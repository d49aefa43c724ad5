package dev.sluice.session;

import java.util.concurrent.ConcurrentHashMap;

/**
 * Which server-side copies of a pool's statements are still good. When one backend reports that a
 * statement's plan no longer fits its tables (a schema change), every backend's copy of it was
 * prepared against the old tables: the statement's generation moves on, and a backend's copy from
 * an older generation is prepared afresh at its next use instead of being bound as it is. Shared by
 * the backends of one pool; thread-safe.
 */
public final class StatementGenerations {
  private final ConcurrentHashMap<StatementKey, Long> generations = new ConcurrentHashMap<>();

  /** The current generation of {@code key}; 0 until it is first invalidated. */
  public long of(StatementKey key) {
    Long g = generations.get(key);
    return g == null ? 0 : g;
  }

  /** Every copy of {@code key} prepared so far is stale. */
  public void invalidate(StatementKey key) {
    generations.merge(key, 1L, Long::sum);
  }
}
