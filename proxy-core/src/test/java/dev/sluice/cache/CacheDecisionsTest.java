package dev.sluice.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.cache.Cacheability.Reason;
import java.util.Arrays;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class CacheDecisionsTest {
  @Test
  void countsEachDecision() {
    CacheDecisions decisions = new CacheDecisions();
    decisions.record(CacheDecision.HIT);
    decisions.record(CacheDecision.HIT);
    decisions.record(CacheDecision.TRANSACTION);
    decisions.recordUncacheable(
        Cacheability.classify("SELECT 1; SELECT 2", FunctionVolatility.empty()));

    assertThat(decisions.count(CacheDecision.HIT)).isEqualTo(2);
    assertThat(decisions.count(CacheDecision.MISS)).isZero();
    assertThat(decisions.snapshot())
        .containsEntry(CacheDecision.TRANSACTION, 1L)
        .containsEntry(CacheDecision.MULTI_STATEMENT, 1L)
        .hasSize(CacheDecision.values().length);
  }

  @Test
  void everyReasonAgainstCachingHasItsOwnLabelledDecision() {
    for (Reason reason : Reason.values()) {
      if (reason == Reason.CACHEABLE) {
        assertThatThrownBy(() -> CacheDecision.uncacheable(reason))
            .isInstanceOf(IllegalArgumentException.class);
      } else {
        assertThat(CacheDecision.uncacheable(reason).label())
            .isEqualTo("uncacheable:" + reason.label());
      }
    }
    assertThat(Arrays.stream(CacheDecision.values()).map(CacheDecision::label).distinct())
        .hasSize(CacheDecision.values().length);
    assertThat(CacheDecision.VOLATILE_FUNCTION.label()).isEqualTo("uncacheable:volatile");
    assertThat(CacheDecision.PARSE_ERROR.label()).isEqualTo("uncacheable:parse");
  }

  @Test
  void countsFromManyThreadsAddUp() throws InterruptedException {
    CacheDecisions decisions = new CacheDecisions();
    ExecutorService pool = Executors.newFixedThreadPool(4);
    for (int i = 0; i < 4; i++) {
      pool.execute(
          () -> {
            for (int j = 0; j < 10_000; j++) {
              decisions.record(CacheDecision.MISS);
            }
          });
    }
    pool.shutdown();
    assertThat(pool.awaitTermination(30, TimeUnit.SECONDS)).isTrue();
    assertThat(decisions.count(CacheDecision.MISS)).isEqualTo(40_000);
  }
}
