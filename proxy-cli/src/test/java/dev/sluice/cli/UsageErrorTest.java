package dev.sluice.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Mistakes in the shape of the command line: one line naming the help to read, status 2. */
class UsageErrorTest {
  private static final Map<String, String> ENV = Map.of("DATABASE_URL", "postgres://u@h/db");

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      value = {
        "run --foo                  | sluice: unknown option '--foo' (see sluice run --help)",
        "run --foo=bar              | sluice: unknown option '--foo' (see sluice run --help)",
        "run -x                     | sluice: unknown option '-x' (see sluice run --help)",
        "check-config --foo         | sluice: unknown option '--foo' (see sluice check-config --help)",
        "--foo                      | sluice: unknown option '--foo' (see sluice --help)",
        "frob                       | sluice: unknown command 'frob' (see sluice --help)",
        "run extra                  | sluice: unexpected argument 'extra' (see sluice run --help)",
        "run --pool-size            | sluice: missing value for --pool-size (see sluice run --help)",
        "run --pool-size --min-idle | sluice: missing value for --pool-size (see sluice run --help)",
      })
  void oneLineAndStatus2(String commandLine, String expected) {
    Cli.Result r = Cli.run(ENV, commandLine.strip().split(" +"));

    assertThat(r.err()).isEqualTo(expected + "\n");
    assertThat(r.status()).isEqualTo(2);
    assertThat(r.out()).isEmpty();
  }

  @org.junit.jupiter.api.Test
  void repeatedFlagIsOneLine() {
    Cli.Result r = Cli.run(ENV, "run", "--pool-size", "1", "--pool-size", "2");

    assertThat(r.err())
        .hasLineCount(1)
        .startsWith("sluice: ")
        .endsWith("(see sluice run --help)\n");
    assertThat(r.status()).isEqualTo(2);
  }
}
