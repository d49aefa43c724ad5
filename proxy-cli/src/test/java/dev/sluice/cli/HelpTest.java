package dev.sluice.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

class HelpTest {

  @Test
  void runHelpShowsEveryFlagWithItsDefaultAndVariable() {
    Cli.Result r = Cli.run(Map.of(), "run", "--help");

    assertThat(r.status()).isZero();
    String help = r.out().replaceAll("\\s+", " ");
    for (Flag f : Flag.values()) {
      assertThat(help).contains(f.option()).contains("Env: " + f.envVar());
      if (f != Flag.UPSTREAM) {
        assertThat(help).contains("Default: " + f.defaultText() + ".");
      }
    }
    assertThat(help).contains("DATABASE_URL");
  }

  @Test
  void checkConfigTakesTheSameFlags() {
    String help = Cli.run(Map.of(), "check-config", "--help").out();

    for (Flag f : Flag.values()) {
      assertThat(help).contains(f.option());
    }
  }

  @Test
  void topLevelHelpAndVersion() {
    Cli.Result help = Cli.run(Map.of(), "--help");
    Cli.Result version = Cli.run(Map.of(), "--version");

    assertThat(help.status()).isZero();
    assertThat(help.out()).contains("run").contains("check-config");
    assertThat(version.status()).isZero();
    assertThat(version.out()).startsWith("sluice ");
  }

  @Test
  void noCommandShowsUsageOnStderrWithStatus2() {
    Cli.Result r = Cli.run(Map.of());

    assertThat(r.status()).isEqualTo(2);
    assertThat(r.err()).contains("Usage: sluice");
    assertThat(r.out()).isEmpty();
  }
}
