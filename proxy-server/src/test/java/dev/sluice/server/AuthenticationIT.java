package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.config.ClientAuth;
import dev.sluice.config.HostAndPort;
import dev.sluice.config.PoolMode;
import dev.sluice.config.ProxyConfig;
import dev.sluice.config.Upstream;
import dev.sluice.testing.PostgresExtension;
import dev.sluice.testing.PostgresServer;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.postgresql.util.PSQLException;

/**
 * Clients log in to Sluice as the upstream role with its password (SCRAM by default); Sluice logs
 * in to PostgreSQL with whatever method the server asks for. Errors carry PostgreSQL's codes.
 */
@ExtendWith(PostgresExtension.class)
class AuthenticationIT {
  private final PostgresServer pg;

  AuthenticationIT(PostgresServer pg) {
    this.pg = pg;
  }

  private static String sqlState(Throwable t) {
    return ((PSQLException) t).getSQLState();
  }

  private Connection login(TestSluice s, String user, String password, String db)
      throws SQLException {
    Properties p = TestSluice.props("user", user, "password", password, "connectTimeout", "10");
    return DriverManager.getConnection(s.jdbcUrl(db), p);
  }

  @Test
  void wrongPasswordIsRefusedWith28P01() {
    try (TestSluice s = TestSluice.start(pg, PoolMode.TRANSACTION)) {
      assertThatThrownBy(() -> login(s, pg.appUser(), "wrong", pg.appDatabase()))
          .isInstanceOf(PSQLException.class)
          .satisfies(e -> assertThat(sqlState(e)).isEqualTo("28P01"))
          .hasMessageContaining("password authentication failed for user \"sluice_app\"");
    }
  }

  @Test
  void anotherRoleFailsExactlyLikeAWrongPassword() {
    try (TestSluice s = TestSluice.start(pg, PoolMode.TRANSACTION)) {
      assertThatThrownBy(() -> login(s, "postgres", pg.appPassword(), pg.appDatabase()))
          .isInstanceOf(PSQLException.class)
          .satisfies(e -> assertThat(sqlState(e)).isEqualTo("28P01"))
          .hasMessageContaining("password authentication failed for user \"postgres\"");
    }
  }

  @Test
  void unknownDatabaseGetsTheServersOwnError() throws SQLException {
    try (TestSluice s =
        TestSluice.start(
            pg, b -> b.poolMode(PoolMode.TRANSACTION).allowDatabases(java.util.Set.of("*")))) {
      assertThatThrownBy(() -> login(s, pg.appUser(), pg.appPassword(), "no_such_db"))
          .isInstanceOf(PSQLException.class)
          .satisfies(e -> assertThat(sqlState(e)).isEqualTo("3D000"))
          .hasMessageContaining("database \"no_such_db\" does not exist");
      // and the right database still works through the same Sluice
      try (Connection c = login(s, pg.appUser(), pg.appPassword(), pg.appDatabase())) {
        ResultSet rs = c.createStatement().executeQuery("SELECT current_database()");
        rs.next();
        assertThat(rs.getString(1)).isEqualTo(pg.appDatabase());
      }
    }
  }

  @Test
  void onlyTheUpstreamsDatabaseIsReachableUnlessOthersAreListed() throws SQLException {
    try (TestSluice s = TestSluice.start(pg, PoolMode.TRANSACTION)) {
      for (String db : List.of("postgres", "template1")) {
        assertThatThrownBy(() -> login(s, pg.appUser(), pg.appPassword(), db))
            .isInstanceOf(PSQLException.class)
            .satisfies(e -> assertThat(sqlState(e)).isEqualTo("3D000"))
            .hasMessageContaining("database \"" + db + "\" does not exist");
      }
      assertThat(s.server.poolNames()).containsExactly("sluice_test/sluice_app");
    }
  }

  @Test
  void poolsAreCapped() throws SQLException {
    try (TestSluice s =
        TestSluice.start(
            pg,
            b ->
                b.poolMode(PoolMode.TRANSACTION)
                    .allowDatabases(java.util.Set.of("*"))
                    .maxPools(1))) {
      assertThatThrownBy(() -> login(s, pg.appUser(), pg.appPassword(), "postgres"))
          .isInstanceOf(PSQLException.class)
          .satisfies(e -> assertThat(sqlState(e)).isEqualTo("53300"))
          .hasMessageContaining("--max-pools 1");
    }
  }

  @Test
  void otherDatabasesGetTheirOwnPool() throws SQLException {
    try (TestSluice s =
            TestSluice.start(
                pg,
                b ->
                    b.poolMode(PoolMode.TRANSACTION).allowDatabases(java.util.Set.of("postgres")));
        Connection c = login(s, pg.appUser(), pg.appPassword(), "postgres")) {
      ResultSet rs = c.createStatement().executeQuery("SELECT current_database()");
      rs.next();
      assertThat(rs.getString(1)).isEqualTo("postgres");
      assertThat(s.server.poolNames()).contains("postgres/sluice_app", "sluice_test/sluice_app");
    }
  }

  @Test
  void md5AndCleartextClientAuthWhenTheOperatorAsksForThem() throws SQLException {
    for (ClientAuth method : List.of(ClientAuth.MD5, ClientAuth.PASSWORD)) {
      try (TestSluice s = TestSluice.start(pg, b -> b.clientAuth(method))) {
        try (Connection c = login(s, pg.appUser(), pg.appPassword(), pg.appDatabase())) {
          assertThat(c.createStatement().executeQuery("SELECT 1").next()).isTrue();
        }
        assertThatThrownBy(() -> login(s, pg.appUser(), "nope", pg.appDatabase()))
            .satisfies(e -> assertThat(sqlState(e)).isEqualTo("28P01"));
      }
    }
  }

  @Test
  void sluiceLogsInToTheServerWithMd5OrCleartextWhenItAsks() throws SQLException {
    for (String role : List.of(pg.md5User(), pg.plainUser())) {
      Upstream up =
          new Upstream(
              List.of(new HostAndPort(pg.host(), pg.port())),
              pg.appDatabase(),
              role,
              pg.appPassword(),
              Upstream.SslMode.DISABLE,
              Map.of());
      ProxyConfig config =
          ProxyConfig.builder(up)
              .listen(new HostAndPort("127.0.0.1", 0))
              .minIdle(1)
              .workerThreads(1)
              .build();
      try (SluiceServer server = SluiceServer.start(config);
          Connection c =
              DriverManager.getConnection(
                  "jdbc:postgresql://127.0.0.1:"
                      + server.localAddress().getPort()
                      + "/"
                      + pg.appDatabase(),
                  TestSluice.props("user", role, "password", pg.appPassword()))) {
        ResultSet rs = c.createStatement().executeQuery("SELECT current_user");
        rs.next();
        assertThat(rs.getString(1)).isEqualTo(role);
      }
    }
  }

  @Test
  void wrongUpstreamPasswordReachesTheClientAsTheServersError() {
    Upstream up =
        new Upstream(
            List.of(new HostAndPort(pg.host(), pg.port())),
            pg.appDatabase(),
            pg.appUser(),
            "not-the-password",
            Upstream.SslMode.DISABLE,
            Map.of());
    ProxyConfig config =
        ProxyConfig.builder(up).listen(new HostAndPort("127.0.0.1", 0)).minIdle(0).build();
    try (SluiceServer server = SluiceServer.start(config)) {
      // The client knows what Sluice was configured with; the server disagrees.
      assertThatThrownBy(
              () ->
                  DriverManager.getConnection(
                      "jdbc:postgresql://127.0.0.1:"
                          + server.localAddress().getPort()
                          + "/"
                          + pg.appDatabase(),
                      TestSluice.props("user", pg.appUser(), "password", "not-the-password")))
          .isInstanceOf(PSQLException.class)
          .satisfies(e -> assertThat(sqlState(e)).isEqualTo("28P01"));
    }
  }
}
