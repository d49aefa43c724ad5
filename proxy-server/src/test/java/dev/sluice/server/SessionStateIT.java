package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.PoolMode;
import dev.sluice.testing.PostgresExtension;
import dev.sluice.testing.PostgresServer;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Each client sees the session it asked for; nothing leaks to the next client. */
@ExtendWith(PostgresExtension.class)
class SessionStateIT {
  private final PostgresServer pg;

  SessionStateIT(PostgresServer pg) {
    this.pg = pg;
  }

  private static String show(Connection c, String setting) throws SQLException {
    try (Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SHOW " + setting)) {
      rs.next();
      return rs.getString(1);
    }
  }

  private static int backendPid(Connection c) throws SQLException {
    try (Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT pg_backend_pid()")) {
      rs.next();
      return rs.getInt(1);
    }
  }

  @Test
  void startupSettingsAndSetsOfReportedSettingsStayWithTheirClient() throws SQLException {
    // One backend for everyone: every client is served by the same server process in turn.
    try (TestSluice s = TestSluice.start(pg, b -> b.poolMode(PoolMode.TRANSACTION).poolSize(1));
        Connection a =
            s.connect(
                TestSluice.props("ApplicationName", "alpha", "options", "-c TimeZone=Asia/Tokyo"));
        Connection b = s.connect(TestSluice.props("ApplicationName", "beta"))) {
      assertThat(backendPid(a)).isEqualTo(backendPid(b));
      assertThat(show(a, "application_name")).isEqualTo("alpha");
      assertThat(show(b, "application_name")).isEqualTo("beta");
      assertThat(show(a, "TimeZone")).isEqualTo("Asia/Tokyo");
      String serverDefaultZone = show(b, "TimeZone");
      assertThat(serverDefaultZone).isNotEqualTo("Asia/Tokyo");

      // a plain SET of reported settings moves with the client that made it
      a.createStatement().execute("SET application_name = 'alpha-2'");
      a.createStatement().execute("SET IntervalStyle = 'sql_standard'");
      assertThat(show(b, "application_name")).isEqualTo("beta");
      assertThat(show(b, "IntervalStyle")).isEqualTo("postgres");
      assertThat(show(a, "application_name")).isEqualTo("alpha-2");
      assertThat(show(a, "IntervalStyle")).isEqualTo("sql_standard");

      // SET LOCAL ends with its transaction
      a.setAutoCommit(false);
      a.createStatement().execute("SET LOCAL application_name = 'in-tx'");
      assertThat(show(a, "application_name")).isEqualTo("in-tx");
      a.commit();
      a.setAutoCommit(true);
      assertThat(show(a, "application_name")).isEqualTo("alpha-2");
      assertThat(show(b, "application_name")).isEqualTo("beta");

      // a client that leaves does not leave its settings behind
      a.close();
      try (Connection c = s.connect()) {
        assertThat(show(c, "application_name")).isEqualTo("PostgreSQL JDBC Driver");
        assertThat(show(c, "TimeZone")).isEqualTo(serverDefaultZone);
        assertThat(show(c, "IntervalStyle")).isEqualTo("postgres");
      }
    }
  }

  @Test
  void eachClientSeesItsOwnParameterStatusValues() throws SQLException {
    try (TestSluice s = TestSluice.start(pg, b -> b.poolMode(PoolMode.TRANSACTION).poolSize(1));
        Connection a = s.connect(TestSluice.props("ApplicationName", "first"));
        Connection b = s.connect(TestSluice.props("ApplicationName", "second"))) {
      a.createStatement().execute("SELECT 1");
      b.createStatement().execute("SELECT 1");
      a.createStatement().execute("SELECT 1");
      // pgjdbc keeps the last ParameterStatus it saw; it must be the client's own
      assertThat(a.getClientInfo("ApplicationName")).isEqualTo("first");
      assertThat(b.getClientInfo("ApplicationName")).isEqualTo("second");
    }
  }

  @Test
  void temporaryTablesSurviveAcrossTransactionsInSessionMode() throws SQLException {
    try (TestSluice s = TestSluice.start(pg, b -> b.poolMode(PoolMode.SESSION).poolSize(2));
        Connection a = s.connect()) {
      Statement st = a.createStatement();
      st.execute("CREATE TEMP TABLE notes (v text)");
      a.setAutoCommit(false);
      st.execute("INSERT INTO notes VALUES ('one')");
      a.commit();
      st.execute("INSERT INTO notes VALUES ('two')");
      a.commit();
      a.setAutoCommit(true);
      // other clients come and go meanwhile
      for (int i = 0; i < 3; i++) {
        try (Connection other = s.connect()) {
          other.createStatement().execute("SELECT 1");
        }
      }
      ResultSet rs = st.executeQuery("SELECT count(*) FROM notes");
      rs.next();
      assertThat(rs.getInt(1)).isEqualTo(2);
      a.close();
      // after the session, DISCARD ALL leaves nothing behind for the next client on that backend;
      // the reset runs after the client has gone, so wait for the backend to be back in the pool
      long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
      while (s.server.pools().stream()
          .map(p -> p.pool().stats())
          .anyMatch(ps -> ps.idle() != ps.total())) {
        assertThat(System.nanoTime() - deadline).as("the backend back in the pool").isNegative();
        Thread.onSpinWait();
      }
      try (Connection b = s.connect()) {
        ResultSet t =
            b.createStatement()
                .executeQuery(
                    "SELECT count(*) FROM pg_class WHERE relname = 'notes' AND relpersistence = 't'");
        t.next();
        assertThat(t.getInt(1)).isZero();
      }
    }
  }

  @Test
  void clientThatLeavesMidTransactionLeavesNoOpenTransaction() throws Exception {
    try (TestSluice s = TestSluice.start(pg, b -> b.poolMode(PoolMode.TRANSACTION).poolSize(1))) {
      Connection a = s.connect();
      a.setAutoCommit(false);
      a.createStatement().execute("CREATE TEMP TABLE IF NOT EXISTS x (v int)");
      a.createStatement().execute("SELECT pg_advisory_xact_lock(4242)");
      a.close(); // pgjdbc sends Terminate without COMMIT
      try (Connection b = s.connect()) {
        ResultSet rs =
            b.createStatement()
                .executeQuery(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242");
        rs.next();
        assertThat(rs.getInt(1)).isZero();
      }
      try (Connection su = pg.connectSuper()) {
        ResultSet tx =
            su.createStatement()
                .executeQuery(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = '"
                        + pg.appDatabase()
                        + "' AND state LIKE 'idle in transaction%'");
        tx.next();
        assertThat(tx.getInt(1)).isZero();
      }
    }
  }
}
