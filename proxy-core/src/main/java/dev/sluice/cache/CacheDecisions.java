package dev.sluice.cache;

import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/**
 * Counts every decision of the query cache by {@link CacheDecision}, cheaply from many threads, for
 * the admin port and the metrics.
 */
public final class CacheDecisions {
  private static final CacheDecision[] ALL = CacheDecision.values();

  private final LongAdder[] counts = new LongAdder[ALL.length];

  public CacheDecisions() {
    for (int i = 0; i < counts.length; i++) {
      counts[i] = new LongAdder();
    }
  }

  public void record(CacheDecision decision) {
    counts[decision.ordinal()].increment();
  }

  /** Counts a statement refused for what its text says; it must not be cacheable. */
  public void recordUncacheable(Cacheability cacheability) {
    record(CacheDecision.uncacheable(cacheability.reason()));
  }

  public long count(CacheDecision decision) {
    return counts[decision.ordinal()].sum();
  }

  /** Every count, in declaration order, zeros included. */
  public Map<CacheDecision, Long> snapshot() {
    Map<CacheDecision, Long> snapshot = new EnumMap<>(CacheDecision.class);
    for (CacheDecision decision : ALL) {
      snapshot.put(decision, count(decision));
    }
    return Collections.unmodifiableMap(snapshot);
  }
}
