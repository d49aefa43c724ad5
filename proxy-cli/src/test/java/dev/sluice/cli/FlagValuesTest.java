package dev.sluice.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.config.ConfigException;
import org.junit.jupiter.api.Test;

class FlagValuesTest {

  @Test
  void integersWithinBounds() {
    assertThat(FlagValues.integer("--n", " 42 ", 1)).isEqualTo(42);
    assertThat(FlagValues.integer("--n", "0", 0)).isZero();
    assertThat(FlagValues.integer("--n", "2147483647", 1)).isEqualTo(Integer.MAX_VALUE);
    assertThatThrownBy(() -> FlagValues.integer("--n", "2147483648", 1))
        .isInstanceOf(ConfigException.class)
        .hasMessage("invalid value for --n: '2147483648' (expected an integer >= 1)");
  }

  @Test
  void sizesAreCaseSensitiveAsInPostgresql() {
    assertThat(FlagValues.size("--s", "8kB", 1024, 1L << 30)).isEqualTo(8192);
    assertThatThrownBy(() -> FlagValues.size("--s", "8KB", 1024, 1L << 30))
        .isInstanceOf(ConfigException.class);
    assertThatThrownBy(() -> FlagValues.size("--s", "8 kb", 1024, 1L << 30))
        .isInstanceOf(ConfigException.class);
  }

  @Test
  void formatsTheShortestExactSpelling() {
    assertThat(FlagValues.formatSize(1L << 30)).isEqualTo("1GB");
    assertThat(FlagValues.formatSize(128L << 20)).isEqualTo("128MB");
    assertThat(FlagValues.formatSize(1536)).isEqualTo("1536B");
    assertThat(FlagValues.formatSize(3072)).isEqualTo("3kB");
    assertThat(FlagValues.formatSize(0)).isEqualTo("0B");
  }
}
