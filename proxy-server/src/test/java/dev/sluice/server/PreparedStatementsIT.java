package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.PoolMode;
import dev.sluice.engine.ProxyStats;
import dev.sluice.testing.PostgresExtension;
import dev.sluice.testing.PostgresServer;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.postgresql.util.PSQLException;

/**
 * Protocol-level named prepared statements in transaction mode: each client's names are its own,
 * whichever backend serves it, however often backends are recycled.
 */
@ExtendWith(PostgresExtension.class)
class PreparedStatementsIT {
  private final PostgresServer pg;

  PreparedStatementsIT(PostgresServer pg) {
    this.pg = pg;
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 5})
  void twoHundredClientsWithTheSameNamesForDifferentSqlEachGetTheirOwn(int threshold)
      throws Exception {
    int clients = 200;
    int rounds = 30;
    // Short lifetimes recycle every backend several times during the run, so statements are
    // prepared again on fresh backends while clients keep using their names; a small LRU makes
    // backends evict and re-prepare too.
    try (TestSluice s =
        TestSluice.start(
            pg,
            b ->
                b.poolMode(PoolMode.TRANSACTION)
                    .poolSize(4)
                    .minIdle(4)
                    .maxPreparedStatements(40)
                    .acquireTimeout(Duration.ofSeconds(60))
                    .serverLifetime(Duration.ofMillis(700)))) {
      Map<String, AtomicInteger> errorsByState = new ConcurrentHashMap<>();
      List<Throwable> wrong = Collections.synchronizedList(new ArrayList<>());
      AtomicInteger executions = new AtomicInteger();
      CountDownLatch done = new CountDownLatch(clients);
      for (int k = 0; k < clients; k++) {
        int me = k;
        Thread t =
            new Thread(
                () -> {
                  try (Connection c =
                      s.connect(
                          TestSluice.props("prepareThreshold", Integer.toString(threshold)))) {
                    // pgjdbc names these S_1, S_2, ... in every client: same names, other SQL.
                    PreparedStatement a = c.prepareStatement("SELECT ?::int * " + (me + 1));
                    PreparedStatement b =
                        c.prepareStatement("SELECT ?::text || '-" + me + "', " + me);
                    for (int i = 0; i < rounds; i++) {
                      a.setInt(1, i);
                      try (ResultSet rs = a.executeQuery()) {
                        rs.next();
                        if (rs.getInt(1) != i * (me + 1)) {
                          wrong.add(new AssertionError("client " + me + " got " + rs.getInt(1)));
                        }
                      }
                      b.setString(1, "r" + i);
                      try (ResultSet rs = b.executeQuery()) {
                        rs.next();
                        if (!rs.getString(1).equals("r" + i + "-" + me) || rs.getInt(2) != me) {
                          wrong.add(new AssertionError("client " + me + " got " + rs.getString(1)));
                        }
                      }
                      executions.addAndGet(2);
                    }
                  } catch (PSQLException e) {
                    errorsByState
                        .computeIfAbsent(String.valueOf(e.getSQLState()), x -> new AtomicInteger())
                        .incrementAndGet();
                    wrong.add(e);
                  } catch (Throwable e) {
                    wrong.add(e);
                  } finally {
                    done.countDown();
                  }
                });
        t.start();
      }
      assertThat(done.await(180, TimeUnit.SECONDS)).as("all clients finished").isTrue();
      assertThat(errorsByState).isEmpty();
      assertThat(wrong).isEmpty();
      assertThat(executions.get()).isEqualTo(clients * rounds * 2);
      ProxyStats stats = s.server.stats();
      assertThat(stats.clientParses.sum()).isGreaterThan(0);
      assertThat(stats.serverParses.sum()).isGreaterThan(0);
      // the four backends were replaced several times over during the run
      assertThat(stats.backendLogins.sum()).isGreaterThan(3 * 4);
    }
  }

  @Test
  void duplicateNameIs42P05AndUnknownNameIs26000ForThatClientOnly() throws Exception {
    try (TestSluice s = TestSluice.start(pg, b -> b.poolMode(PoolMode.TRANSACTION).poolSize(2));
        Connection c = s.connect(TestSluice.props("prepareThreshold", "1"))) {
      RawClient raw = RawClient.connect(s, pg);
      try {
        raw.parse("st", "SELECT 1");
        raw.sync();
        assertThat(raw.readUntilReady()).containsExactly("1", "Z:I");
        raw.parse("st", "SELECT 2");
        raw.bind("", "st");
        raw.execute("");
        raw.sync();
        List<String> dup = raw.readUntilReady();
        assertThat(dup).containsExactly("E:42P05", "Z:I");
        raw.bind("", "nope");
        raw.execute("");
        raw.sync();
        assertThat(raw.readUntilReady()).containsExactly("E:26000", "Z:I");
        // inside a transaction block the batch fails the transaction, as PostgreSQL would
        raw.query("BEGIN");
        assertThat(raw.readUntilReady()).containsExactly("C", "Z:T");
        raw.bind("", "nope");
        raw.sync();
        assertThat(raw.readUntilReady()).containsExactly("E:26000", "Z:E");
        raw.query("ROLLBACK");
        assertThat(raw.readUntilReady()).containsExactly("C", "Z:I");
        // the statement still works, closing it is local, and then it is gone
        raw.bind("", "st");
        raw.execute("");
        raw.close("st");
        raw.sync();
        assertThat(raw.readUntilReady()).containsExactly("2", "D", "C", "3", "Z:I");
        raw.bind("", "st");
        raw.sync();
        assertThat(raw.readUntilReady()).containsExactly("E:26000", "Z:I");
      } finally {
        raw.close();
      }
      // another client was never disturbed
      try (Statement st = c.createStatement()) {
        ResultSet rs = st.executeQuery("SELECT 7");
        rs.next();
        assertThat(rs.getInt(1)).isEqualTo(7);
      }
    }
  }

  @Test
  void answersOwedWithoutAServerReplyAreFlushedOnFlush() throws Exception {
    try (TestSluice s = TestSluice.start(pg, b -> b.poolMode(PoolMode.TRANSACTION).poolSize(1));
        RawClient a = RawClient.connect(s, pg);
        RawClient b = RawClient.connect(s, pg)) {
      a.parse("known", "SELECT 42");
      a.sync();
      assertThat(a.readUntilReady()).containsExactly("1", "Z:I");
      // b prepares the same text: answered without the server, and Flush must deliver it
      b.parse("mine", "SELECT 42");
      b.flush();
      assertThat(b.readOne()).isEqualTo("1");
      b.close("mine");
      b.flush();
      assertThat(b.readOne()).isEqualTo("3");
      b.sync();
      assertThat(b.readUntilReady()).containsExactly("Z:I");
      // the same while b holds the backend in a transaction (its Flush goes to the server,
      // which has nothing to say; Sluice's own ParseComplete must still arrive)
      b.query("BEGIN");
      assertThat(b.readUntilReady()).containsExactly("C", "Z:T");
      b.parse("again", "SELECT 42");
      b.flush();
      assertThat(b.readOne()).isEqualTo("1");
      b.sync();
      assertThat(b.readUntilReady()).containsExactly("Z:T");
      b.query("COMMIT");
      assertThat(b.readUntilReady()).containsExactly("C", "Z:I");
    }
  }

  @Test
  void deallocateAndDiscardAllChangeOnlyTheSendersView() throws Exception {
    try (TestSluice s =
            TestSluice.start(pg, b -> b.poolMode(PoolMode.TRANSACTION).poolSize(1).minIdle(1));
        RawClient a = RawClient.connect(s, pg);
        RawClient b = RawClient.connect(s, pg)) {
      a.parse("shared", "SELECT 'a'");
      a.sync();
      assertThat(a.readUntilReady()).containsExactly("1", "Z:I");
      for (String sql : List.of("DEALLOCATE mine", "DEALLOCATE ALL", "DISCARD ALL")) {
        b.parse("mine", "SELECT 'b'");
        b.sync();
        assertThat(b.readUntilReady()).containsExactly("1", "Z:I");
        b.query(sql);
        assertThat(b.readUntilReady()).as(sql).containsExactly("C", "Z:I");
        // b's statement is gone for b ...
        b.bind("", "mine");
        b.sync();
        assertThat(b.readUntilReady()).as(sql).containsExactly("E:26000", "Z:I");
        // ... while a's, on the very same backend, still answers a
        a.bind("", "shared");
        a.execute("");
        a.sync();
        assertThat(a.readUntilReady()).as(sql).containsExactly("2", "D", "C", "Z:I");
      }
      // DEALLOCATE of a protocol-level statement inside a transaction (the backend is held)
      b.query("BEGIN");
      assertThat(b.readUntilReady()).containsExactly("C", "Z:T");
      b.parse("x", "SELECT 'x'");
      b.sync();
      assertThat(b.readUntilReady()).containsExactly("1", "Z:T");
      b.query("DEALLOCATE x");
      assertThat(b.readUntilReady()).containsExactly("C", "Z:T");
      b.query("COMMIT");
      assertThat(b.readUntilReady()).containsExactly("C", "Z:I");
    }
  }

  @Test
  void statementsAreSharedAcrossClientsOnABackend() throws SQLException {
    try (TestSluice s =
        TestSluice.start(pg, b -> b.poolMode(PoolMode.TRANSACTION).poolSize(1).minIdle(1))) {
      for (int i = 0; i < 5; i++) {
        try (Connection c = s.connect(TestSluice.props("prepareThreshold", "1"));
            PreparedStatement ps = c.prepareStatement("SELECT ?::int + 1000")) {
          ps.setInt(1, i);
          ResultSet rs = ps.executeQuery();
          rs.next();
          assertThat(rs.getInt(1)).isEqualTo(1000 + i);
        }
      }
      // five clients prepared the same text: the one backend prepared it once
      ProxyStats stats = s.server.stats();
      assertThat(stats.clientParses.sum()).isGreaterThanOrEqualTo(5);
      try (Connection c = s.connect();
          Statement st = c.createStatement()) {
        ResultSet rs =
            st.executeQuery(
                "SELECT count(*) FROM pg_prepared_statements WHERE statement = 'SELECT $1::int + 1000'");
        rs.next();
        assertThat(rs.getInt(1)).isEqualTo(1);
      }
    }
  }
}
