package dev.sluice.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.cache.Cacheability.Reason;
import org.junit.jupiter.api.Test;

class CacheabilityClassifierTest {
  private static final FunctionVolatility F_IMMUTABLE =
      FunctionVolatility.builder().add("app", "f", Volatility.IMMUTABLE).build();
  private static final FunctionVolatility F_VOLATILE =
      FunctionVolatility.builder().add("app", "f", Volatility.VOLATILE).build();

  @Test
  void aDecisionIsMadeOncePerText() {
    CacheabilityClassifier classifier = new CacheabilityClassifier(F_IMMUTABLE);
    Cacheability first = classifier.classify("SELECT f(1)");
    assertThat(first.cacheable()).isTrue();
    assertThat(classifier.classify("SELECT f(1)")).isSameAs(first);
    assertThat(classifier.classify("SELECT f(2)")).isNotSameAs(first);
    assertThat(classifier.memoSize()).isEqualTo(2);
  }

  @Test
  void replacingTheCatalogForgetsEveryDecision() {
    CacheabilityClassifier classifier = new CacheabilityClassifier(F_IMMUTABLE);
    assertThat(classifier.classify("SELECT f(1)").cacheable()).isTrue();

    classifier.replaceCatalog(F_VOLATILE);

    assertThat(classifier.catalog()).isSameAs(F_VOLATILE);
    assertThat(classifier.classify("SELECT f(1)").reason()).isEqualTo(Reason.VOLATILE_FUNCTION);
    assertThat(classifier.memoSize()).isEqualTo(1);
  }

  @Test
  void theStringSettingIsPartOfTheKey() {
    CacheabilityClassifier classifier = new CacheabilityClassifier(F_VOLATILE);
    String sql = "SELECT 'a\\' AS x, f(1) AS y -- '";
    assertThat(classifier.classify(sql, true).reason()).isEqualTo(Reason.VOLATILE_FUNCTION);
    assertThat(classifier.classify(sql, false).reason()).isEqualTo(Reason.CACHEABLE);
  }

  @Test
  void textOverTheLimitIsOversizedAndNotRemembered() {
    CacheabilityClassifier classifier = new CacheabilityClassifier(F_IMMUTABLE, 20, 1_000_000);
    assertThat(classifier.classify("SELECT 1 + 2 + 3 + 4").cacheable()).isTrue();
    assertThat(classifier.classify("SELECT 1 + 2 + 3 + 45").reason()).isEqualTo(Reason.OVERSIZED);
    assertThat(classifier.memoSize()).isEqualTo(1);
  }

  @Test
  void theMemoIsBoundedByTheWeightOfItsTexts() {
    long weight = 10L * (CacheabilityClassifier.ENTRY_WEIGHT + 20);
    CacheabilityClassifier classifier = new CacheabilityClassifier(F_IMMUTABLE, 1000, weight);
    for (int i = 0; i < 100; i++) {
      classifier.classify("SELECT " + (1_000_000 + i));
    }
    assertThat(classifier.memoSize()).isLessThanOrEqualTo(10);
  }

  @Test
  void badLimitsAreRefusedByName() {
    assertThatThrownBy(() -> new CacheabilityClassifier(F_IMMUTABLE, 0, 10))
        .hasMessageContaining("maxStatementLength");
    assertThatThrownBy(() -> new CacheabilityClassifier(F_IMMUTABLE, 10, -1))
        .hasMessageContaining("memoWeight");
  }
}
