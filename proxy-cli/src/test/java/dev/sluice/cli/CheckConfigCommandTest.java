package dev.sluice.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckConfigCommandTest {
  @TempDir Path dir;

  private String file(String name, String yaml) throws IOException {
    return Files.writeString(dir.resolve(name), yaml).toString();
  }

  @Test
  void printsEveryEffectiveSettingAndItsOriginWithThePasswordMasked() {
    Cli.Result r = Cli.run(Map.of(), "check-config", "--upstream", "postgres://u:secret@h/db");

    assertThat(r.status()).isZero();
    assertThat(r.err()).isEmpty();
    assertThat(r.out())
        .isEqualTo(
            String.join(
                "\n",
                "config = none  (default)",
                "listen = 127.0.0.1:6432  (default)",
                "upstream = postgres://u:****@h:5432/db?sslmode=prefer  (from --upstream)",
                "pool-mode = transaction  (default)",
                "pool-size = 20  (default)",
                "min-idle = 2  (default)",
                "acquire-timeout = 30s  (default)",
                "max-client-connections = 10000  (default)",
                "server-lifetime = 1h  (default)",
                "server-idle-timeout = 10m  (default)",
                "connect-timeout = 10s  (default)",
                "connect-retries = 8  (default)",
                "server-check-delay = 30s  (default)",
                "shutdown-timeout = 30s  (default)",
                "tcp-keepalive-idle = 30s  (default)",
                "tcp-user-timeout = 30s  (default)",
                "query-timeout = off  (default)",
                "idle-transaction-timeout = off  (default)",
                "allow-databases = none  (default)",
                "max-pools = 100  (default)",
                "max-message-size = 128MB  (default)",
                "max-message-memory = 256MB  (default)",
                "client-login-timeout = 15s  (default)",
                "max-pending-logins = 1000  (default)",
                "login-failure-limit = 10  (default)",
                "login-failure-window = 1m  (default)",
                "server-reset-query = DISCARD ALL  (default)",
                "client-auth = scram-sha-256  (default)",
                "session-state = pin  (default)",
                "max-prepared-statements = 200  (default)",
                "workers = 0  (default)",
                "tls-mode = allow  (default)",
                "tls-cert = none  (default)",
                "tls-key = none  (default)",
                "admin-listen = 127.0.0.1:9930  (default)",
                "admin-token = none  (default)",
                "admin-users = none  (default)",
                "cache = on  (default)",
                "cache-max-size = 256MB  (default)",
                "cache-max-entry-size = 1MB  (default)",
                "cache-max-age = 1m  (default)",
                "cache-stale-while-revalidate = 15s  (default)",
                "cache-invalidation = max-age  (default)",
                "cache-invalidation-channel = none  (default)",
                "log-level = info  (default)",
                "log-format = auto  (default)",
                ""));
  }

  @Test
  void showsFlagsAndVariablesAsResolved() {
    Map<String, String> env =
        Map.of(
            "DATABASE_URL",
            "host=db user=app password='s3 cret' application_name=web sslpassword=keyphrase",
            "SLUICE_POOL_SIZE",
            "50",
            "SLUICE_SERVER_RESET_QUERY",
            "");

    Cli.Result r = Cli.run(env, "check-config", "--pool-mode", "session", "--min-idle", "0");

    assertThat(r.status()).isZero();
    assertThat(r.out())
        .contains(
            "upstream = postgres://app:****@db:5432/app?sslmode=prefer  (from env DATABASE_URL)\n")
        .contains("upstream.application_name = web\n")
        .contains("upstream.sslpassword = ****\n")
        .contains("pool-mode = session  (from --pool-mode)\n")
        .contains("pool-size = 50  (from env SLUICE_POOL_SIZE)\n")
        .contains("min-idle = 0  (from --min-idle)\n")
        .contains("server-reset-query =  (from env SLUICE_SERVER_RESET_QUERY)\n")
        .doesNotContain("s3 cret")
        .doesNotContain("keyphrase");
  }

  @Test
  void libpqVariablesWhenNothingElseIsSet() {
    Map<String, String> env =
        Map.of("PGHOST", "pg", "PGUSER", "u", "PGPASSWORD", "pw", "PGDATABASE", "d");

    Cli.Result r = Cli.run(env, "check-config");

    assertThat(r.out())
        .contains("upstream = postgres://u:****@pg:5432/d?sslmode=prefer  (from env PG*)\n");
  }

  @Test
  void aConfigFileSitsBetweenTheEnvironmentAndTheDefaults() throws IOException {
    String path =
        file(
            "sluice.yaml",
            """
            # a comment
            upstream: postgres://app:filesecret@db.internal/app
            pool-size: 20
            min-idle: 4
            acquire-timeout: 5s
            server-reset-query: ""
            admin-listen: off
            log-level: debug
            log-format: json
            """);
    Map<String, String> env = Map.of("SLUICE_CONFIG", path, "SLUICE_MIN_IDLE", "3");

    Cli.Result r = Cli.run(env, "check-config", "--pool-size", "30");

    assertThat(r.err()).isEmpty();
    assertThat(r.status()).isZero();
    assertThat(r.out())
        .contains("config = " + path + "  (from env SLUICE_CONFIG)\n")
        .contains(
            "upstream = postgres://app:****@db.internal:5432/app?sslmode=prefer  (from file "
                + path
                + ")\n")
        .contains("pool-size = 30  (from --pool-size)\n")
        .contains("min-idle = 3  (from env SLUICE_MIN_IDLE)\n")
        .contains("acquire-timeout = 5s  (from file " + path + ")\n")
        .contains("server-reset-query =  (from file " + path + ")\n")
        .contains("admin-listen = off  (from file " + path + ")\n")
        .contains("log-level = debug  (from file " + path + ")\n")
        .contains("log-format = json  (from file " + path + ")\n")
        .contains("pool-mode = transaction  (default)\n")
        .doesNotContain("filesecret");
  }

  @Test
  void theConfigFlagBeatsItsVariableAndDatabaseUrlBeatsTheFilesUpstream() throws IOException {
    String used = file("used.yaml", "upstream: postgres://file@from-file/db\nworkers: 3\n");
    String ignored = file("ignored.yaml", "workers: 9\n");
    Map<String, String> env =
        Map.of("SLUICE_CONFIG", ignored, "DATABASE_URL", "postgres://env:pw@from-env/db");

    Cli.Result r = Cli.run(env, "check-config", "--config", used);

    assertThat(r.out())
        .contains("config = " + used + "  (from --config)\n")
        .contains("upstream = postgres://env:****@from-env:5432/db?sslmode=prefer")
        .contains("workers = 3  (from file " + used + ")\n");
  }

  // Bad input: exactly one line on stderr, status 2, nothing on stdout.

  @Test
  void badFlag() {
    assertBad(
        Map.of(),
        "sluice: invalid value for --pool-size: '0' (expected an integer >= 1)",
        "--upstream",
        "postgres://u:pw@h/db",
        "--pool-size",
        "0");
  }

  @Test
  void badVariable() {
    assertBad(
        Map.of("DATABASE_URL", "postgres://u:pw@h/db", "SLUICE_LOG_FORMAT", "xml"),
        "sluice: invalid value for SLUICE_LOG_FORMAT: 'xml' (expected text, json or auto)");
  }

  @Test
  void badValueInTheFile() throws IOException {
    String path = file("sluice.yaml", "upstream: postgres://u:pw@h/db\npool-size: 0\n");

    assertBad(
        Map.of(),
        "sluice: invalid value for pool-size in " + path + ": '0' (expected an integer >= 1)",
        "--config",
        path);
  }

  @Test
  void badUpstreamInTheFileIsMasked() throws IOException {
    String path = file("sluice.yaml", "upstream: postgres://u:hunter2@h:x/db\n");

    assertBad(
        Map.of(),
        "sluice: invalid value for upstream in "
            + path
            + ": 'postgres://u:****@h:x/db' (port 'x': expected a number between 1 and 65535)",
        "--config",
        path);
  }

  @Test
  void unknownKeySuggestsTheNearestOne() throws IOException {
    String path = file("sluice.yaml", "pool_size: 20\n");

    assertBad(
        Map.of(),
        "sluice: " + path + ": unknown key 'pool_size' (did you mean pool-size?)",
        "--config",
        path);
  }

  @Test
  void unknownKeyFarFromAnyOther() throws IOException {
    String path = file("sluice.yaml", "frobnicate: yes\n");

    assertBad(Map.of(), "sluice: " + path + ": unknown key 'frobnicate'", "--config", path);
  }

  @Test
  void unreadableFileNamesTheFlagOrVariable() {
    String missing = dir.resolve("missing.yaml").toString();

    assertBad(
        Map.of(),
        "sluice: invalid value for --config: '"
            + missing
            + "' (cannot read the file: no such file)",
        "--config",
        missing);
    assertBad(
        Map.of("SLUICE_CONFIG", missing),
        "sluice: invalid value for SLUICE_CONFIG: '"
            + missing
            + "' (cannot read the file: no such file)");
  }

  @Test
  void malformedYaml() throws IOException {
    String path = file("sluice.yaml", "pool-size: 20\nmin-idle: \"1\n");

    assertBad(
        Map.of(),
        "sluice: " + path + ": not valid YAML at line 3, column 1: found unexpected end of stream",
        "--config",
        path);
  }

  @Test
  void aListAtTheTopOrANestedValue() throws IOException {
    String list = file("list.yaml", "- pool-size: 20\n");
    String nested = file("nested.yaml", "pool-size:\n  max: 20\n");

    assertBad(
        Map.of(),
        "sluice: " + list + ": expected 'key: value' lines, found a list",
        "--config",
        list);
    assertBad(
        Map.of(),
        "sluice: " + nested + ": pool-size: expected a single value, found a mapping",
        "--config",
        nested);
  }

  private static void assertBad(Map<String, String> env, String expectedLine, String... flags) {
    String[] args = new String[flags.length + 1];
    args[0] = "check-config";
    System.arraycopy(flags, 0, args, 1, flags.length);

    Cli.Result r = Cli.run(env, args);

    assertThat(r.err()).isEqualTo(expectedLine + "\n");
    assertThat(r.status()).isEqualTo(2);
    assertThat(r.out()).isEmpty();
  }
}
