package dev.sluice.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/** Every way to get a value wrong ends in exactly one line on stderr and exit status 2. */
class BadValueTest {
  private static final Map<String, String> ENV =
      Map.of("DATABASE_URL", "postgres://app:secret@db.internal/app");

  static Stream<Arguments> badFlagValues() {
    return Stream.of(
        bad("--listen", "nope", "expected HOST:PORT, for example 127.0.0.1:6432 or [::1]:6432"),
        bad("--listen", "::1:6432", "IPv6 addresses need brackets, as in [::1]:6432"),
        bad("--listen", "127.0.0.1:99999", "port must be between 0 and 65535"),
        bad(
            "--upstream",
            "postgres://u:secret@h:abc/db",
            "postgres://u:****@h:abc/db",
            "port 'abc': expected a number between 1 and 65535"),
        bad(
            "--upstream",
            "postgres://u:secret@h/db?sslmode=always",
            "postgres://u:****@h/db?sslmode=always",
            "sslmode 'always': expected disable, allow, prefer, require, verify-ca or"
                + " verify-full"),
        bad("--upstream", "postgres://h/db", "a user is required"),
        bad("--upstream", "nonsense", "expected keyword=value pairs separated by spaces"),
        bad("--pool-mode", "statement", "expected transaction or session"),
        bad("--pool-size", "abc", "expected an integer >= 1"),
        bad("--pool-size", "0", "expected an integer >= 1"),
        bad("--pool-size", "-1", "expected an integer >= 1"),
        bad("--pool-size", "2.5", "expected an integer >= 1"),
        bad("--pool-size", "99999999999", "expected an integer >= 1"),
        bad("--pool-size", "", "expected an integer >= 1"),
        bad("--min-idle", "-1", "expected an integer >= 0"),
        bad("--min-idle", "30", "must not exceed --pool-size 20"),
        bad(
            "--acquire-timeout",
            "30",
            "expected a number with a unit: ms, s, m, h or d, for example 500ms, 30s, 10m"),
        bad("--acquire-timeout", "0s", "expected a positive duration such as 30s"),
        bad("--max-client-connections", "0", "expected an integer >= 1"),
        bad("--login-failure-limit", "-1", "expected an integer >= 0"),
        bad("--login-failure-window", "0s", "expected a positive duration such as 30s"),
        bad(
            "--server-lifetime",
            "1y",
            "expected a number with a unit: ms, s, m, h or d, for example 500ms, 30s, 10m"),
        bad(
            "--server-idle-timeout",
            "-5m",
            "expected a number with a unit: ms, s, m, h or d, for example 500ms, 30s, 10m"),
        bad("--connect-timeout", "0ms", "expected a positive duration such as 30s"),
        bad("--max-message-size", "128mb", sizeExpected()),
        bad("--max-message-size", "2GB", sizeExpected()),
        bad("--max-message-size", "512", sizeExpected()),
        bad("--max-message-size", "99999999999999999GB", sizeExpected()),
        bad("--client-auth", "trust", "expected scram-sha-256, md5 or password"),
        bad("--session-state", "sticky", "expected pin or reject"),
        bad("--max-prepared-statements", "0", "expected an integer >= 1"),
        bad("--max-prepared-statements", "lots", "expected an integer >= 1"),
        bad("--workers", "-1", "expected an integer >= 0"),
        bad("--workers", "many", "expected an integer >= 0"),
        bad("--admin-users", "ops,,oncall", "expected role names separated by commas, or none"),
        bad("--log-level", "verbose", "expected trace, debug, info, warn, error or off"),
        bad("--cache", "maybe", "expected on or off"),
        bad(
            "--cache-max-size",
            "lots",
            "expected a size from 0B to 1024GB: bytes, or a number with kB, MB or GB, for example"
                + " 128MB"),
        bad("--cache-max-age", "0s", "expected a positive duration such as 30s"),
        bad("--cache-invalidation", "notify", "expected max-age or wal"));
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("badFlagValues")
  void badFlagValueIsOneLineAndStatus2(String flag, String value, String expectedLine) {
    for (String[] args :
        new String[][] {
          {"run", flag, value}, {"run", flag + "=" + value}, {"check-config", flag, value}
        }) {
      Cli.Result r = Cli.run(ENV, args);

      assertThat(r.err()).as(Arrays.toString(args)).isEqualTo(expectedLine + "\n");
      assertThat(r.status()).isEqualTo(2);
      assertThat(r.out()).isEmpty();
    }
  }

  /** The same value from the flag's variable: same text, naming the variable. */
  @ParameterizedTest
  @EnumSource(
      value = Flag.class,
      names = {
        "SERVER_RESET_QUERY",
        "ADMIN_TOKEN",
        "ADMIN_USERS",
        "CACHE_INVALIDATION_CHANNEL",
        "ALLOW_DATABASES",
        "TLS_CERT",
        "TLS_KEY"
      },
      mode = EnumSource.Mode.EXCLUDE)
  void badEnvironmentValueNamesTheVariable(Flag flag) {
    Map<String, String> env =
        Map.of("DATABASE_URL", "postgres://app@db/app", flag.envVar(), "bogus");

    Cli.Result fromEnv = Cli.run(env, "check-config");
    Cli.Result fromFlag = Cli.run(ENV, "check-config", flag.option(), "bogus");

    assertThat(fromEnv.status()).isEqualTo(2);
    assertThat(fromEnv.err())
        .startsWith("sluice: invalid value for " + flag.envVar() + ": 'bogus' (")
        .hasLineCount(1)
        .isEqualTo(fromFlag.err().replace(flag.option(), flag.envVar()));
  }

  @Test
  void passwordNeverReachesStderr() {
    Cli.Result r =
        Cli.run(Map.of("DATABASE_URL", "postgres://u:hunter2@h:x/db"), "run", "--workers", "2");

    assertThat(r.err())
        .isEqualTo(
            "sluice: invalid value for DATABASE_URL: 'postgres://u:****@h:x/db'"
                + " (port 'x': expected a number between 1 and 65535)\n");
    assertThat(r.status()).isEqualTo(2);
  }

  @Test
  void noUpstreamAnywhere() {
    Cli.Result r = Cli.run(Map.of("USER", "me", "PGPASSWORD", "pw"), "run");

    assertThat(r.err())
        .isEqualTo(
            "sluice: no upstream database: pass --upstream postgres://USER:PASSWORD@HOST:5432/DB"
                + " or set DATABASE_URL\n");
    assertThat(r.status()).isEqualTo(2);
  }

  @Test
  void aBadFlagIsReportedEvenWithoutAnUpstream() {
    Cli.Result r = Cli.run(Map.of(), "run", "--pool-size", "abc");

    assertThat(r.err())
        .isEqualTo("sluice: invalid value for --pool-size: 'abc' (expected an integer >= 1)\n");
    assertThat(r.status()).isEqualTo(2);
  }

  @Test
  void controlCharactersInAValueCannotBreakTheLine() {
    Cli.Result r = Cli.run(ENV, "run", "--pool-size", "1\n2");

    assertThat(r.err()).hasLineCount(1).startsWith("sluice: invalid value for --pool-size: '1 2'");
  }

  private static Arguments bad(String flag, String value, String expected) {
    return bad(flag, value, value, expected);
  }

  private static Arguments bad(String flag, String value, String shown, String expected) {
    return Arguments.of(
        flag, value, "sluice: invalid value for " + flag + ": '" + shown + "' (" + expected + ")");
  }

  private static String sizeExpected() {
    return "expected a size from 1kB to 1GB: bytes, or a number with kB, MB or GB, for example"
        + " 128MB";
  }
}
