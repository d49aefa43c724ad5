package dev.sluice.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

class CheckConfigCommandTest {

  @Test
  void printsEveryEffectiveSettingWithThePasswordMasked() {
    Cli.Result r = Cli.run(Map.of(), "check-config", "--upstream", "postgres://u:secret@h/db");

    assertThat(r.status()).isZero();
    assertThat(r.err()).isEmpty();
    assertThat(r.out())
        .isEqualTo(
            String.join(
                "\n",
                "listen = 127.0.0.1:6432",
                "upstream = postgres://u:****@h:5432/db?sslmode=prefer",
                "pool-mode = transaction",
                "pool-size = 20",
                "min-idle = 2",
                "acquire-timeout = 30s",
                "max-client-connections = 10000",
                "server-lifetime = 1h",
                "server-idle-timeout = 10m",
                "connect-timeout = 10s",
                "connect-retries = 8",
                "server-check-delay = 30s",
                "shutdown-timeout = 30s",
                "tcp-keepalive-idle = 30s",
                "tcp-user-timeout = 30s",
                "allow-databases = none",
                "max-pools = 100",
                "max-message-size = 128MB",
                "max-message-memory = 256MB",
                "client-login-timeout = 15s",
                "max-pending-logins = 1000",
                "server-reset-query = DISCARD ALL",
                "client-auth = scram-sha-256",
                "session-state = pin",
                "max-prepared-statements = 200",
                "workers = 0",
                "tls-mode = allow",
                "tls-cert = none",
                "tls-key = none",
                "admin-listen = 127.0.0.1:9930",
                "admin-token = none",
                "log-level = info",
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
        .contains("upstream = postgres://app:****@db:5432/app?sslmode=prefer\n")
        .contains("upstream.application_name = web\n")
        .contains("upstream.sslpassword = ****\n")
        .contains("pool-mode = session\n")
        .contains("pool-size = 50\n")
        .contains("min-idle = 0\n")
        .contains("server-reset-query =\n")
        .doesNotContain("s3 cret")
        .doesNotContain("keyphrase");
  }

  @Test
  void libpqVariablesWhenNothingElseIsSet() {
    Map<String, String> env =
        Map.of("PGHOST", "pg", "PGUSER", "u", "PGPASSWORD", "pw", "PGDATABASE", "d");

    Cli.Result r = Cli.run(env, "check-config");

    assertThat(r.out()).contains("upstream = postgres://u:****@pg:5432/d?sslmode=prefer\n");
  }
}
