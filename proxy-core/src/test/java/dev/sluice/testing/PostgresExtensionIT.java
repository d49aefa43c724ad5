package dev.sluice.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The harness itself: the server it starts, the roles it creates, the helpers it offers. */
@ExtendWith(PostgresExtension.class)
class PostgresExtensionIT {
  private final PostgresServer server;

  PostgresExtensionIT(PostgresServer server) {
    this.server = server;
  }

  @Test
  void appUserLogsInOverTcpWithScram() throws SQLException {
    try (Connection connection = server.connectApp()) {
      assertThat(queryString(connection, "SELECT current_user")).isEqualTo("sluice_app");
      assertThat(queryString(connection, "SELECT current_database()")).isEqualTo("sluice_test");
      assertThat(queryString(connection, "SELECT host(inet_server_addr())")).isEqualTo("127.0.0.1");
    }
    assertThat(storedPassword(server.appUser())).startsWith("SCRAM-SHA-256$");
    if (server.managed()) {
      assertThat(hbaMethodFor(server.appUser())).isEqualTo("scram-sha-256");
    }
  }

  @Test
  void md5UserLogsInWithMd5() throws SQLException {
    assumeTrue(server.managed(), "an external server's pg_hba.conf may not ask md5_user for md5");
    try (Connection connection =
        server.connect(server.md5User(), server.appPassword(), server.appDatabase())) {
      assertThat(queryString(connection, "SELECT current_user")).isEqualTo("md5_user");
    }
    assertThat(storedPassword(server.md5User())).startsWith("md5");
    assertThat(hbaMethodFor(server.md5User())).isEqualTo("md5");
  }

  @Test
  void plainUserLogsInWithCleartextPassword() throws SQLException {
    assumeTrue(server.managed(), "an external server's pg_hba.conf may lack plain_user's line");
    try (Connection connection =
        server.connect(server.plainUser(), server.appPassword(), server.appDatabase())) {
      assertThat(queryString(connection, "SELECT current_user")).isEqualTo("plain_user");
      // The grant made by the harness: the extra roles may create tables in public.
      try (Statement statement = connection.createStatement()) {
        statement.execute("CREATE TEMP TABLE t (x int)");
        statement.execute("CREATE TABLE IF NOT EXISTS harness_plain_user_probe (x int)");
        statement.execute("DROP TABLE harness_plain_user_probe");
      }
    }
    assertThat(hbaMethodFor(server.plainUser())).isEqualTo("password");
  }

  @Test
  void wrongPasswordIsRejected() {
    assertThatThrownBy(() -> server.connect(server.appUser(), "wrong", server.appDatabase()))
        .isInstanceOf(SQLException.class)
        .extracting(e -> ((SQLException) e).getSQLState())
        .isEqualTo("28P01");
  }

  @Test
  void superuserLogsInOverTcp() throws SQLException {
    try (Connection connection = server.connectSuper()) {
      assertThat(
              queryString(
                  connection, "SELECT rolsuper::text FROM pg_roles WHERE rolname = current_user"))
          .isEqualTo("true");
    }
  }

  @Test
  void listensOnTheFreePortItChose() throws SQLException {
    try (Connection connection = server.connectApp()) {
      assertThat(queryString(connection, "SHOW port")).isEqualTo(Integer.toString(server.port()));
    }
    if (server.managed()) {
      assertThat(server.port()).isNotIn(5432, 6432);
      assertThat(server.host()).isEqualTo("127.0.0.1");
    }
  }

  @Test
  void managedServerHasTheTestSettings() throws SQLException {
    assumeTrue(server.managed(), "settings of an external server are its owner's");
    try (Connection connection = server.connectSuper()) {
      assertThat(queryString(connection, "SHOW max_connections")).isEqualTo("300");
      assertThat(queryString(connection, "SHOW fsync")).isEqualTo("off");
      assertThat(queryString(connection, "SHOW listen_addresses")).isEqualTo("127.0.0.1");
      assertThat(queryString(connection, "SHOW password_encryption")).isEqualTo("scram-sha-256");
    }
  }

  @Test
  void psqlRunsAgainstTheUri() {
    ProcessResult result =
        server.run(
            List.of(
                "psql",
                "-X",
                "--no-align",
                "--tuples-only",
                "-c",
                "select 1",
                server.uri(server.appUser(), server.appPassword(), server.appDatabase())),
            Map.of(),
            Duration.ofSeconds(30));

    assertThat(result.exitCode()).as(result.toString()).isZero();
    assertThat(result.stdout().trim()).isEqualTo("1");
  }

  @Test
  void psqlRunsWithLibpqEnvironment() {
    ProcessResult result =
        server.run(
            List.of("psql", "-X", "-At", "-c", "select current_user"),
            server.libpqEnv(server.appUser(), server.appPassword(), server.appDatabase()),
            Duration.ofSeconds(30));

    assertThat(result.exitCode()).as(result.toString()).isZero();
    assertThat(result.stdout().trim()).isEqualTo("sluice_app");
  }

  @Test
  void runKillsAProgramThatOutlivesItsTimeout() {
    assertThatThrownBy(() -> server.run(List.of("sleep", "30"), Map.of(), Duration.ofMillis(200)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("timed out");
  }

  @Test
  void countsAndTerminatesClientBackendsByApplicationName() throws SQLException {
    List<Connection> connections = new ArrayList<>();
    try {
      for (int i = 0; i < 3; i++) {
        connections.add(appConnection("harness-it-count-" + i));
      }
      assertThat(server.backendCount("harness-it-count-%")).isEqualTo(3);
      assertThat(server.backendCount(null)).isGreaterThanOrEqualTo(3);

      assertThat(server.terminateBackends("harness-it-count-%")).isEqualTo(3);
      assertThat(server.backendCount("harness-it-count-%")).isZero();
    } finally {
      for (Connection connection : connections) {
        connection.close();
      }
    }
  }

  @Test
  void staticAccessorGivesTheInjectedServer() {
    assertThat(PostgresExtension.server()).isSameAs(server);
  }

  @Test
  void logTailShowsTheServerLog() {
    assumeTrue(server.managed(), "an external server's log is not visible");
    assertThat(server.logFile()).exists();
    assertThat(server.logTail(1000)).contains("database system is ready to accept connections");
    assertThat(server.logTail(3).lines().count()).isLessThanOrEqualTo(3);
  }

  @Test
  void restartKeepsThePortAndTheRoles() throws SQLException {
    assumeTrue(server.managed(), "an external server is not ours to restart");
    server.restart();
    try (Connection connection = server.connectApp()) {
      assertThat(queryString(connection, "SHOW port")).isEqualTo(Integer.toString(server.port()));
    }
  }

  private Connection appConnection(String applicationName) throws SQLException {
    Properties properties = new Properties();
    properties.setProperty("user", server.appUser());
    properties.setProperty("password", server.appPassword());
    properties.setProperty("ApplicationName", applicationName);
    return DriverManager.getConnection(server.jdbcUrl(server.appDatabase()), properties);
  }

  private String storedPassword(String role) throws SQLException {
    return querySuper("SELECT rolpassword FROM pg_authid WHERE rolname = ?", role);
  }

  /** The method of the first pg_hba line a TCP login of {@code role} from 127.0.0.1 matches. */
  private String hbaMethodFor(String role) throws SQLException {
    return querySuper(
        "SELECT auth_method FROM pg_hba_file_rules"
            + " WHERE type = 'host' AND address = '127.0.0.1'"
            + " AND (user_name = '{all}' OR ? = ANY (user_name))"
            + " ORDER BY line_number LIMIT 1",
        role);
  }

  private String querySuper(String sql, String parameter) throws SQLException {
    try (Connection connection = server.connectSuper();
        PreparedStatement statement = connection.prepareStatement(sql)) {
      statement.setString(1, parameter);
      try (ResultSet rows = statement.executeQuery()) {
        assertThat(rows.next()).as("a row for %s", parameter).isTrue();
        return rows.getString(1);
      }
    }
  }

  private static String queryString(Connection connection, String sql) throws SQLException {
    try (Statement statement = connection.createStatement();
        ResultSet rows = statement.executeQuery(sql)) {
      assertThat(rows.next()).as("a row from %s", sql).isTrue();
      return rows.getString(1);
    }
  }
}
