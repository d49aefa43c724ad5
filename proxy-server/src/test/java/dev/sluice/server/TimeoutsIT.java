package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.config.PoolMode;
import dev.sluice.testing.PostgresExtension;
import dev.sluice.testing.PostgresServer;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** --query-timeout and --idle-transaction-timeout against real clients and a real server. */
@ExtendWith(PostgresExtension.class)
class TimeoutsIT {
  private final PostgresServer pg;

  TimeoutsIT(PostgresServer pg) {
    this.pg = pg;
  }

  private int count(String where) throws SQLException {
    try (Connection c = pg.connectSuper();
        ResultSet rs =
            c.createStatement()
                .executeQuery(
                    "SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND "
                        + where)) {
      rs.next();
      return rs.getInt(1);
    }
  }

  private static void await(String what, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!condition.getAsBoolean()) {
      assertThat(System.nanoTime() - deadline).as("waiting for %s", what).isNegative();
      Thread.sleep(10);
    }
  }

  private boolean none(String where) {
    try {
      return count(where) == 0;
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  @Test
  void aQueryPastTheTimeoutEndsItsClientAndIsCancelledOnTheServer() throws Exception {
    try (TestSluice s =
            TestSluice.start(
                pg, b -> b.poolMode(PoolMode.TRANSACTION).queryTimeout(Duration.ofMillis(500)));
        Connection busy = s.connect();
        Connection slow = s.connect()) {
      // Many short queries for three times the limit: progress, never a timeout.
      long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1500);
      int n = 0;
      while (System.nanoTime() - until < 0) {
        try (ResultSet rs = busy.createStatement().executeQuery("SELECT " + n)) {
          rs.next();
          assertThat(rs.getInt(1)).isEqualTo(n++);
        }
      }

      long t0 = System.nanoTime();
      SQLException e =
          org.junit.jupiter.api.Assertions.assertThrows(
              SQLException.class,
              () -> slow.createStatement().execute("SELECT pg_sleep(30) /* timeout-victim */"));
      long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
      assertThat(e.getSQLState()).as(e.toString()).isEqualTo("57014");
      assertThat(e.getMessage()).contains("query timeout");
      assertThat(millis).as("ms until the timeout struck").isBetween(500L, 2000L);
      await(
          "the query cancelled on the server",
          () -> none("query LIKE '%timeout-victim%' AND state = 'active'"));

      try (ResultSet rs = busy.createStatement().executeQuery("SELECT 'still here'")) {
        rs.next();
        assertThat(rs.getString(1)).isEqualTo("still here");
      }
      try (Connection fresh = s.connect();
          ResultSet rs = fresh.createStatement().executeQuery("SELECT 1")) {
        assertThat(rs.next()).isTrue();
      }
    }
  }

  @Test
  void aTransactionLeftIdleIsRolledBackAndItsClientDisconnected() throws Exception {
    try (Connection c = pg.connectApp();
        Statement st = c.createStatement()) {
      st.execute("DROP TABLE IF EXISTS idle_tx_rows");
      st.execute("CREATE TABLE idle_tx_rows (v int)");
    }
    try (TestSluice s =
            TestSluice.start(
                pg,
                b ->
                    b.poolMode(PoolMode.TRANSACTION)
                        .idleTransactionTimeout(Duration.ofMillis(500)));
        Connection working = s.connect();
        Connection idle = s.connect()) {
      // A transaction that keeps talking is never idle long enough.
      working.setAutoCommit(false);
      for (int i = 0; i < 15; i++) {
        working.createStatement().execute("INSERT INTO idle_tx_rows VALUES (" + i + ")");
        Thread.sleep(100);
      }
      working.commit();

      idle.setAutoCommit(false);
      idle.createStatement().execute("INSERT INTO idle_tx_rows VALUES (-1) /* idle-victim */");
      long t0 = System.nanoTime();
      await(
          "the idle transaction rolled back on the server",
          () -> none("query LIKE '%idle-victim%' AND state LIKE 'idle in transaction%'"));
      long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
      assertThat(millis).as("ms until the idle transaction ended").isBetween(400L, 2000L);
      assertThatThrownBy(() -> idle.createStatement().execute("SELECT 1"))
          .isInstanceOf(SQLException.class)
          .satisfies(
              x -> assertThat(((SQLException) x).getSQLState()).isIn("25P03", "08006", "08003"));
      try (ResultSet rs =
          working.createStatement().executeQuery("SELECT count(*), min(v) FROM idle_tx_rows")) {
        rs.next();
        assertThat(rs.getInt(1)).isEqualTo(15);
        assertThat(rs.getInt(2)).isZero();
      }
      working.commit();
    }
  }
}
