package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.PoolMode;
import dev.sluice.testing.PostgresExtension;
import dev.sluice.testing.PostgresServer;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A schema change under prepared statements. PostgreSQL refuses to run a prepared {@code SELECT *}
 * whose result type changed ("cached plan must not change result type", 0A000). Through Sluice, in
 * transaction mode, the stale server-side statement is dropped so its next use prepares it afresh,
 * and a batch is run again without the client seeing the error when nothing of it has reached the
 * client, no transaction is open and its Binds ask for no per-column result formats.
 */
@ExtendWith(PostgresExtension.class)
class SchemaChangeIT {
  /**
   * The schema changes here are made around Sluice, which the result cache only sees when its
   * entries age out; these tests are about prepared plans, so the cache is off.
   */
  private static final java.util.function.UnaryOperator<dev.sluice.config.CacheConfig> NO_CACHE =
      c -> c.withEnabled(false);

  private final PostgresServer pg;

  SchemaChangeIT(PostgresServer pg) {
    this.pg = pg;
  }

  private void reset(String table) throws SQLException {
    try (Connection c = pg.connectApp();
        Statement st = c.createStatement()) {
      st.execute("DROP TABLE IF EXISTS " + table);
      st.execute("CREATE TABLE " + table + " (id int PRIMARY KEY, v text)");
      st.execute("INSERT INTO " + table + " SELECT g, 'v' || g FROM generate_series(1, 10) g");
    }
  }

  private void addColumn(String table) throws SQLException {
    try (Connection c = pg.connectApp();
        Statement st = c.createStatement()) {
      st.execute("ALTER TABLE " + table + " ADD COLUMN extra int DEFAULT 7");
    }
  }

  private static void runNamed(RawClient raw, String name) throws Exception {
    raw.bind("", name);
    raw.execute("");
    raw.sync();
  }

  @Test
  void aBatchOfATextFormatClientIsRunAgainAndTheClientSeesNoError() throws Exception {
    reset("ddl_raw");
    try (TestSluice s =
            TestSluice.start(
                pg, b -> b.poolMode(PoolMode.TRANSACTION).cache(NO_CACHE).poolSize(1).minIdle(1));
        RawClient raw = RawClient.connect(s, pg)) {
      raw.parse("q", "SELECT * FROM ddl_raw WHERE id = 3");
      raw.sync();
      assertThat(raw.readUntilReady()).containsExactly("1", "Z:I");
      runNamed(raw, "q");
      assertThat(raw.readUntilReady()).containsExactly("2", "D", "C", "Z:I");
      addColumn("ddl_raw");
      runNamed(raw, "q");
      assertThat(raw.readUntilReady()).containsExactly("2", "D", "C", "Z:I");
      assertThat(s.server.stats().retries.sum()).isEqualTo(1);
      runNamed(raw, "q");
      assertThat(raw.readUntilReady()).containsExactly("2", "D", "C", "Z:I");
      assertThat(s.server.stats().retries.sum()).isEqualTo(1);
    }
  }

  @Test
  void insideATransactionTheErrorPassesThroughAndTheNextUseIsFine() throws Exception {
    reset("ddl_tx");
    try (TestSluice s =
            TestSluice.start(
                pg, b -> b.poolMode(PoolMode.TRANSACTION).cache(NO_CACHE).poolSize(1).minIdle(1));
        RawClient raw = RawClient.connect(s, pg)) {
      raw.parse("q", "SELECT * FROM ddl_tx WHERE id = 3");
      runNamed(raw, "q");
      assertThat(raw.readUntilReady()).containsExactly("1", "2", "D", "C", "Z:I");
      addColumn("ddl_tx");
      raw.query("BEGIN");
      assertThat(raw.readUntilReady()).containsExactly("C", "Z:T");
      runNamed(raw, "q");
      assertThat(raw.readUntilReady()).containsExactly("E:0A000", "Z:E");
      raw.query("ROLLBACK");
      assertThat(raw.readUntilReady()).containsExactly("C", "Z:I");
      runNamed(raw, "q");
      assertThat(raw.readUntilReady()).containsExactly("2", "D", "C", "Z:I");
      assertThat(s.server.stats().retries.sum()).isZero();
    }
  }

  @Test
  void pgjdbcSurvivesTheChangeWithoutAnErrorOnEveryBackend() throws Exception {
    reset("ddl_jdbc");
    try (TestSluice s =
            TestSluice.start(
                pg, b -> b.poolMode(PoolMode.TRANSACTION).cache(NO_CACHE).poolSize(2).minIdle(2));
        Connection c = s.connect(TestSluice.props("prepareThreshold", "1"));
        Connection other = s.connect(TestSluice.props("prepareThreshold", "1"));
        PreparedStatement ps = c.prepareStatement("SELECT * FROM ddl_jdbc WHERE id = ?");
        PreparedStatement ps2 = other.prepareStatement("SELECT * FROM ddl_jdbc WHERE id = ?")) {
      for (int i = 1; i <= 6; i++) {
        ps.setInt(1, i);
        ps.executeQuery().close();
        ps2.setInt(1, i);
        ps2.executeQuery().close();
      }
      addColumn("ddl_jdbc");
      // pgjdbc binds with per-column result formats, so it gets the error and prepares again
      // itself (as it does against PostgreSQL directly); Sluice drops the stale server-side
      // statement so that the new Parse is not answered from it.
      for (int i = 1; i <= 10; i++) {
        for (PreparedStatement p : new PreparedStatement[] {ps, ps2}) {
          p.setInt(1, i);
          try (ResultSet rs = p.executeQuery()) {
            assertThat(rs.next()).isTrue();
            assertThat(rs.getInt("id")).isEqualTo(i);
            assertThat(rs.getInt("extra")).isEqualTo(7);
          }
        }
      }
    }
  }
}
