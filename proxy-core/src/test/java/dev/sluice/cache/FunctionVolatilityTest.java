package dev.sluice.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class FunctionVolatilityTest {
  @Test
  void anOverloadedNameTakesItsMostVolatileOverload() {
    FunctionVolatility catalog =
        FunctionVolatility.builder()
            .add("pg_catalog", "generate_series", "i")
            .add("pg_catalog", "generate_series", "s")
            .add("pg_catalog", "generate_series", "i")
            .build();
    assertThat(catalog.lookup(SqlName.unqualified("generate_series"))).contains(Volatility.STABLE);
    assertThat(catalog.lookup(new SqlName("pg_catalog", "generate_series")))
        .contains(Volatility.STABLE);
  }

  @Test
  void anUnqualifiedNameTakesTheMostVolatileOfEverySchema() {
    FunctionVolatility catalog =
        FunctionVolatility.builder()
            .add("pg_catalog", "lower", "i")
            .add("app", "lower", "v")
            .build();
    assertThat(catalog.lookup(SqlName.unqualified("lower"))).contains(Volatility.VOLATILE);
    assertThat(catalog.lookup(new SqlName("pg_catalog", "lower"))).contains(Volatility.IMMUTABLE);
    assertThat(catalog.lookup(new SqlName("app", "lower"))).contains(Volatility.VOLATILE);
    assertThat(catalog.size()).isEqualTo(2);
  }

  @Test
  void unknownNamesAndSchemasAreAbsent() {
    FunctionVolatility catalog = FunctionVolatility.builder().add("app", "f", "i").build();
    assertThat(catalog.lookup(SqlName.unqualified("g"))).isEmpty();
    assertThat(catalog.lookup(new SqlName("other", "f"))).isEmpty();
    assertThat(catalog.lookup(SqlName.unqualified("F"))).isEmpty();
    assertThat(FunctionVolatility.empty().lookup(SqlName.unqualified("f"))).isEmpty();
  }

  @Test
  void anUnknownVolatilityCodeIsVolatile() {
    FunctionVolatility catalog =
        FunctionVolatility.builder().add("app", "f", "x").add("app", "g", "").build();
    assertThat(catalog.lookup(SqlName.unqualified("f"))).contains(Volatility.VOLATILE);
    assertThat(catalog.lookup(SqlName.unqualified("g"))).contains(Volatility.VOLATILE);
    assertThatThrownBy(() -> FunctionVolatility.builder().add("app", "h", (String) null))
        .isInstanceOf(NullPointerException.class);
  }

  @Test
  void volatilityOrdersFromImmutableToVolatile() {
    assertThat(Volatility.ofCode('i')).isEqualTo(Volatility.IMMUTABLE);
    assertThat(Volatility.ofCode('s')).isEqualTo(Volatility.STABLE);
    assertThat(Volatility.ofCode('v')).isEqualTo(Volatility.VOLATILE);
    assertThat(Volatility.IMMUTABLE.atLeast(Volatility.STABLE)).isEqualTo(Volatility.STABLE);
    assertThat(Volatility.VOLATILE.atLeast(Volatility.STABLE)).isEqualTo(Volatility.VOLATILE);
  }
}
