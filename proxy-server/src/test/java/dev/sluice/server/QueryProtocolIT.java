package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.config.PoolMode;
import dev.sluice.testing.PostgresExtension;
import dev.sluice.testing.PostgresServer;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.postgresql.util.PSQLException;

/** pgjdbc through Sluice in both pooling modes: simple, prepared, batches, transactions. */
@ExtendWith(PostgresExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class QueryProtocolIT {
  private TestSluice transaction;
  private TestSluice session;

  @BeforeAll
  void start(PostgresServer pg) throws SQLException {
    transaction = TestSluice.start(pg, PoolMode.TRANSACTION);
    session = TestSluice.start(pg, PoolMode.SESSION);
    try (Connection c = pg.connectApp();
        Statement st = c.createStatement()) {
      st.execute("DROP TABLE IF EXISTS qp_items");
      st.execute("CREATE TABLE qp_items (id int PRIMARY KEY, name text, mode text)");
    }
  }

  @AfterAll
  void stop() {
    transaction.close();
    session.close();
  }

  private TestSluice sluice(PoolMode mode) {
    return mode == PoolMode.TRANSACTION ? transaction : session;
  }

  @ParameterizedTest
  @EnumSource(PoolMode.class)
  void simpleQueriesReturnTheServersAnswer(PoolMode mode) throws SQLException {
    try (Connection c = sluice(mode).connect(TestSluice.props("preferQueryMode", "simple"));
        Statement st = c.createStatement()) {
      ResultSet rs = st.executeQuery("SELECT 1 + 1, 'héllo'::text, NULL::int, current_user");
      assertThat(rs.next()).isTrue();
      assertThat(rs.getInt(1)).isEqualTo(2);
      assertThat(rs.getString(2)).isEqualTo("héllo");
      assertThat(rs.getObject(3)).isNull();
      assertThat(rs.getString(4)).isEqualTo("sluice_app");
      // several statements in one Query message, the last one's result set
      assertThat(st.execute("SELECT 1; SELECT 2")).isTrue();
      assertThat(st.getMoreResults()).isTrue();
      ResultSet second = st.getResultSet();
      second.next();
      assertThat(second.getInt(1)).isEqualTo(2);
      // an empty query and a server error leave the session usable
      st.execute("");
      assertThatThrownBy(() -> st.execute("SELECT no_such_column"))
          .isInstanceOf(PSQLException.class)
          .satisfies(e -> assertThat(((PSQLException) e).getSQLState()).isEqualTo("42703"));
      ResultSet again = st.executeQuery("SELECT 42");
      again.next();
      assertThat(again.getInt(1)).isEqualTo(42);
    }
  }

  @ParameterizedTest
  @EnumSource(PoolMode.class)
  void preparedStatementsCrossingThePrepareThreshold(PoolMode mode) throws SQLException {
    String tag = "prep-" + mode;
    try (Connection c = sluice(mode).connect(TestSluice.props("prepareThreshold", "3"))) {
      c.createStatement().execute("DELETE FROM qp_items WHERE mode = '" + tag + "'");
      try (PreparedStatement ins =
          c.prepareStatement("INSERT INTO qp_items (id, name, mode) VALUES (?, ?, ?)")) {
        for (int i = 0; i < 10; i++) {
          ins.setInt(1, 1000 * mode.ordinal() + i);
          ins.setString(2, "item " + i);
          ins.setString(3, tag);
          assertThat(ins.executeUpdate()).isEqualTo(1);
        }
      }
      try (PreparedStatement sel =
          c.prepareStatement("SELECT name FROM qp_items WHERE id = ? AND mode = ?")) {
        // executions 1-2 use the unnamed statement, 3+ a named server-side one
        for (int i = 0; i < 10; i++) {
          sel.setInt(1, 1000 * mode.ordinal() + i);
          sel.setString(2, tag);
          try (ResultSet rs = sel.executeQuery()) {
            assertThat(rs.next()).isTrue();
            assertThat(rs.getString(1)).isEqualTo("item " + i);
          }
        }
      }
    }
  }

  @ParameterizedTest
  @EnumSource(PoolMode.class)
  void batchesReportEveryCount(PoolMode mode) throws SQLException {
    String tag = "batch-" + mode;
    try (Connection c = sluice(mode).connect(TestSluice.props("prepareThreshold", "0"))) {
      c.createStatement().execute("DELETE FROM qp_items WHERE mode = '" + tag + "'");
      try (PreparedStatement ins =
          c.prepareStatement("INSERT INTO qp_items (id, name, mode) VALUES (?, ?, ?)")) {
        for (int i = 0; i < 500; i++) {
          ins.setInt(1, 10_000 + 1000 * mode.ordinal() + i);
          ins.setString(2, "b" + i);
          ins.setString(3, tag);
          ins.addBatch();
        }
        int[] counts = ins.executeBatch();
        assertThat(counts).hasSize(500).containsOnly(1);
      }
      ResultSet rs =
          c.createStatement()
              .executeQuery("SELECT count(*) FROM qp_items WHERE mode = '" + tag + "'");
      rs.next();
      assertThat(rs.getInt(1)).isEqualTo(500);
    }
  }

  @ParameterizedTest
  @EnumSource(PoolMode.class)
  void transactionsWithSavepointsAndRollback(PoolMode mode) throws SQLException {
    String tag = "tx-" + mode;
    int base = 20_000 + 1000 * mode.ordinal();
    try (Connection c = sluice(mode).connect()) {
      c.createStatement().execute("DELETE FROM qp_items WHERE mode = '" + tag + "'");
      c.setAutoCommit(false);
      Statement st = c.createStatement();
      st.executeUpdate("INSERT INTO qp_items VALUES (" + base + ", 'kept', '" + tag + "')");
      Savepoint sp = c.setSavepoint();
      st.executeUpdate("INSERT INTO qp_items VALUES (" + (base + 1) + ", 'undone', '" + tag + "')");
      assertThatThrownBy(
              () -> st.executeUpdate("INSERT INTO qp_items VALUES (" + base + ", 'dup', 'x')"))
          .isInstanceOf(PSQLException.class)
          .satisfies(e -> assertThat(((PSQLException) e).getSQLState()).isEqualTo("23505"));
      c.rollback(sp);
      st.executeUpdate("INSERT INTO qp_items VALUES (" + (base + 2) + ", 'after', '" + tag + "')");
      c.commit();

      st.executeUpdate(
          "INSERT INTO qp_items VALUES (" + (base + 3) + ", 'rolled back', '" + tag + "')");
      c.rollback();
      c.setAutoCommit(true);
      List<String> names = new ArrayList<>();
      ResultSet rs =
          st.executeQuery("SELECT name FROM qp_items WHERE mode = '" + tag + "' ORDER BY id");
      while (rs.next()) {
        names.add(rs.getString(1));
      }
      assertThat(names).containsExactly("kept", "after");
    }
  }

  @ParameterizedTest
  @EnumSource(PoolMode.class)
  void serverSideNamedStatementsNeverGiveAnotherClientsAnswer(PoolMode mode) throws Exception {
    // pgjdbc names its statements S_1, S_2, ... per connection, so two clients use the same names
    // for different SQL. Whatever backend serves them, each must get its own statement's answer.
    int clients = 4;
    List<Thread> threads = new ArrayList<>();
    List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
    for (int k = 0; k < clients; k++) {
      int me = k;
      threads.add(
          new Thread(
              () -> {
                try (Connection c =
                    sluice(mode).connect(TestSluice.props("prepareThreshold", "1"))) {
                  String sql = "SELECT ?::int * " + (me + 2) + " AS v, '" + me + "' AS who";
                  try (PreparedStatement ps = c.prepareStatement(sql)) {
                    for (int i = 0; i < 50; i++) {
                      ps.setInt(1, i);
                      try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        assertThat(rs.getInt(1)).isEqualTo(i * (me + 2));
                        assertThat(rs.getString(2)).isEqualTo(Integer.toString(me));
                      }
                    }
                  }
                } catch (Throwable t) {
                  failures.add(t);
                }
              },
              "named-statements-client-" + me));
    }
    threads.forEach(Thread::start);
    for (Thread t : threads) {
      t.join(60_000);
      assertThat(t.isAlive()).as("%s still running after 60 s", t.getName()).isFalse();
    }
    assertThat(failures).isEmpty();
  }
}
