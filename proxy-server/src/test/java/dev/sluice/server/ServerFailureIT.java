package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.config.PoolMode;
import dev.sluice.testing.PostgresExtension;
import dev.sluice.testing.PostgresServer;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The database restarts under Sluice: a client whose backend dies mid-transaction gets a clean
 * error and its connection ends; a transaction-mode client between transactions never notices.
 */
@ExtendWith(PostgresExtension.class)
class ServerFailureIT {
  private final PostgresServer pg;

  ServerFailureIT(PostgresServer pg) {
    this.pg = pg;
  }

  private static int one(Connection c, String sql) throws SQLException {
    try (ResultSet rs = c.createStatement().executeQuery(sql)) {
      rs.next();
      return rs.getInt(1);
    }
  }

  @Test
  void aRestartEndsOpenTransactionsCleanlyAndIdleClientsCarryOn() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue(pg.managed(), "needs a server the tests own");
    try (TestSluice s =
            TestSluice.start(pg, b -> b.poolMode(PoolMode.TRANSACTION).poolSize(4).minIdle(2));
        Connection idle = s.connect();
        Connection inTransaction = s.connect()) {
      assertThat(one(idle, "SELECT 1")).isEqualTo(1);
      inTransaction.setAutoCommit(false);
      assertThat(one(inTransaction, "SELECT 2")).isEqualTo(2);

      pg.restart();

      // A fast shutdown makes every backend send FATAL 57P01 ("terminating connection due to
      // administrator command") before it closes; that goodbye is the client's to read.
      assertThatThrownBy(() -> one(inTransaction, "SELECT 3"))
          .isInstanceOf(SQLException.class)
          .satisfies(e -> assertThat(((SQLException) e).getSQLState()).isEqualTo("57P01"));
      assertThat(inTransaction.isValid(2)).isFalse();

      // The pool learns of its dead backends from the server's goodbye; the idle client's next
      // query gets a fresh one.
      long deadline = System.nanoTime() + 10_000_000_000L;
      Integer got = null;
      SQLException last = null;
      while (got == null && System.nanoTime() < deadline) {
        try {
          got = one(idle, "SELECT 4");
        } catch (SQLException e) {
          last = e;
          Thread.sleep(100);
        }
      }
      assertThat(got).as("idle client after the restart (last error %s)", last).isEqualTo(4);
      assertThat((Object) last).as("the idle client never saw an error").isNull();
      // and new clients are served too
      try (Connection fresh = s.connect()) {
        assertThat(one(fresh, "SELECT 5")).isEqualTo(5);
      }
    }
  }
}
