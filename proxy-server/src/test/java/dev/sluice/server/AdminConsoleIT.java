package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.testing.PostgresExtension;
import dev.sluice.testing.PostgresServer;
import dev.sluice.testing.ProcessResult;
import java.sql.Connection;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The admin console on the client port, through psql, as an operator would use it. */
@ExtendWith(PostgresExtension.class)
class AdminConsoleIT {
  private final PostgresServer pg;

  AdminConsoleIT(PostgresServer pg) {
    this.pg = pg;
  }

  private ProcessResult psql(TestSluice s, String... commands) {
    Map<String, String> env = new HashMap<>(s.libpqEnv());
    env.put("PGDATABASE", "sluice");
    List<String> cmd =
        new java.util.ArrayList<>(List.of("psql", "-X", "-A", "-v", "ON_ERROR_STOP=0"));
    for (String c : commands) {
      cmd.add("-c");
      cmd.add(c);
    }
    return pg.run(cmd, env, Duration.ofSeconds(30));
  }

  @Test
  void psqlPrintsPoolsClientsServersStatsAndConfig() throws Exception {
    try (TestSluice s = TestSluice.start(pg, b -> b.minIdle(2));
        Connection app = s.connect()) {
      app.createStatement().execute("SELECT 1");
      ProcessResult r =
          psql(
              s,
              "SHOW POOLS",
              "SHOW CLIENTS",
              "SHOW SERVERS",
              "SHOW STATS",
              "SHOW CONFIG",
              "SHOW VERSION");
      assertThat(r.succeeded()).as(r.toString()).isTrue();
      assertThat(r.stdout())
          .contains("database|user|cl_active|cl_waiting|sv_active|sv_idle|sv_login|pool_size")
          .contains("sluice_test|sluice_app|1|0|0|2|0|10|transaction")
          .contains("type|user|database|state")
          .contains("C|sluice_app|sluice_test|IDLE")
          .contains("S|sluice_app|sluice_test|IDLE")
          .contains("backend_logins|2")
          .contains("poolMode|transaction")
          .contains("Sluice ");
      assertThat(r.stdout()).doesNotContain(pg.appPassword());
    }
  }

  @Test
  void showCacheListsItsFiguresAndDecisions() {
    try (TestSluice s = TestSluice.start(pg, b -> b)) {
      ProcessResult r = psql(s, "SHOW CACHE", "SHOW HELP");
      assertThat(r.succeeded()).as(r.toString()).isTrue();
      assertThat(r.stdout())
          .contains("name|value\nenabled|true\nentries|0\n")
          .contains("\ndecision.hit|0\ndecision.miss|0\n")
          .contains("\ndecision.uncacheable:volatile|0\n")
          .contains("\nSHOW CACHE\n");
    }
  }

  /**
   * --admin-users adds roles beside the upstream's; the upstream's stays allowed. Any other role is
   * turned away: today already by authentication (only the upstream's role can log in to Sluice),
   * so it never reaches the console's own check.
   */
  @Test
  void adminUsersKeepsTheUpstreamRoleInAndOtherRolesOut() {
    try (TestSluice s = TestSluice.start(pg, b -> b.adminUsers(java.util.Set.of("ops")))) {
      assertThat(s.config.allowsConsoleUser(pg.appUser())).isTrue();
      ProcessResult ok = psql(s, "SHOW VERSION");
      assertThat(ok.succeeded()).as(ok.toString()).isTrue();
      assertThat(ok.stdout()).contains("Sluice ");

      Map<String, String> env = new HashMap<>(s.libpqEnv());
      env.put("PGDATABASE", "sluice");
      env.put("PGUSER", "report");
      ProcessResult refused =
          pg.run(List.of("psql", "-X", "-A", "-c", "SHOW VERSION"), env, Duration.ofSeconds(30));
      assertThat(refused.succeeded()).isFalse();
      assertThat(refused.stderr()).contains("password authentication failed for user \"report\"");
      assertThat(refused.stdout()).doesNotContain("Sluice ");
    }
  }

  @Test
  void anUnknownCommandIsAnErrorAndTheConsoleGoesOn() {
    try (TestSluice s = TestSluice.start(pg, b -> b)) {
      ProcessResult r = psql(s, "DROP TABLE everything", "SHOW VERSION");
      assertThat(r.stderr()).contains("unknown console command");
      assertThat(r.stdout()).contains("Sluice ");
    }
  }
}
