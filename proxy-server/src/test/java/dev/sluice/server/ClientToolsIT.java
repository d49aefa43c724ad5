package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.PoolMode;
import dev.sluice.engine.ProxyStats;
import dev.sluice.testing.PostgresExtension;
import dev.sluice.testing.PostgresServer;
import dev.sluice.testing.ProcessResult;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * libpq's own tools through Sluice, in both pooling modes: psql, pgbench's initialisation (DDL, a
 * COPY inside a transaction, VACUUM) and pgbench runs in every query mode.
 *
 * <p>All pgbench tables live in the app database and are shared by the tests; every test leaves
 * them initialised at scale {@value #SCALE}, so the tests do not depend on their order.
 */
@ExtendWith(PostgresExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ClientToolsIT {
  private static final int SCALE = 2;
  private static final int POOL_SIZE = 10;
  private static final int CLIENTS = 8;
  private static final int TRANSACTIONS_PER_CLIENT = 200;
  private static final Duration TOOL_TIMEOUT = Duration.ofSeconds(90);

  private static final Pattern PROCESSED =
      Pattern.compile("number of transactions actually processed: (\\d+)(?:/(\\d+))?");
  private static final Pattern FAILED = Pattern.compile("number of failed transactions: (\\d+)");

  private PostgresServer pg;
  private TestSluice transaction;
  private TestSluice session;

  @BeforeAll
  void start(PostgresServer pg) {
    this.pg = pg;
    transaction = TestSluice.start(pg, b -> b.poolMode(PoolMode.TRANSACTION).poolSize(POOL_SIZE));
    session = TestSluice.start(pg, b -> b.poolMode(PoolMode.SESSION).poolSize(POOL_SIZE));
    // Tables for the pgbench runs, made directly so that the runs do not depend on the
    // initialisation test having passed first.
    ProcessResult init =
        pg.run(
            List.of("pgbench", "-i", "-q", "-s", Integer.toString(SCALE)),
            pg.libpqEnv(pg.appUser(), pg.appPassword(), pg.appDatabase()),
            TOOL_TIMEOUT);
    assertThat(init.exitCode()).as(init.toString()).isZero();
  }

  @AfterAll
  void stop() {
    if (transaction != null) {
      transaction.close();
    }
    if (session != null) {
      session.close();
    }
  }

  private TestSluice sluice(PoolMode mode) {
    return mode == PoolMode.TRANSACTION ? transaction : session;
  }

  @ParameterizedTest
  @EnumSource(PoolMode.class)
  void psqlPrintsTheServersAnswer(PoolMode mode) {
    ProcessResult r =
        pg.run(
            List.of("psql", "-X", "-v", "ON_ERROR_STOP=1", "-c", "select 1"),
            sluice(mode).libpqEnv(),
            TOOL_TIMEOUT);

    assertThat(r.exitCode()).as(r.toString()).isZero();
    assertThat(r.stdout())
        .as(r.toString())
        .isEqualTo(" ?column? \n----------\n        1\n(1 row)\n\n");
    assertThat(r.stderr()).as(r.toString()).isEmpty();
  }

  @ParameterizedTest
  @EnumSource(PoolMode.class)
  void pgbenchInitialisesItsTables(PoolMode mode) throws SQLException {
    // Drops and recreates the tables, fills them with COPY FROM STDIN inside BEGIN/COMMIT,
    // vacuums and adds primary keys: DDL, COPY IN and utility statements through Sluice.
    ProcessResult r =
        pg.run(
            List.of("pgbench", "-i", "-s", Integer.toString(SCALE)),
            sluice(mode).libpqEnv(),
            TOOL_TIMEOUT);

    assertThat(r.exitCode()).as(r.toString()).isZero();
    assertThat(r.stderr()).as(r.toString()).contains("done in");
    try (Connection c = pg.connectApp();
        Statement st = c.createStatement()) {
      assertThat(count(st, "pgbench_accounts")).isEqualTo(100_000L * SCALE);
      assertThat(count(st, "pgbench_tellers")).isEqualTo(10L * SCALE);
      assertThat(count(st, "pgbench_branches")).isEqualTo(SCALE);
      assertThat(count(st, "pgbench_history")).isZero();
      ResultSet pk =
          st.executeQuery(
              "SELECT count(*) FROM pg_constraint WHERE contype = 'p'"
                  + " AND conrelid = 'pgbench_accounts'::regclass");
      pk.next();
      assertThat(pk.getInt(1)).as("primary key added by pgbench -i").isEqualTo(1);
    }
  }

  static Stream<Arguments> modes() {
    List<Arguments> all = new ArrayList<>();
    for (PoolMode pool : PoolMode.values()) {
      for (String query : List.of("simple", "extended", "prepared")) {
        all.add(Arguments.of(pool, query));
      }
    }
    return all.stream();
  }

  /**
   * {@value #CLIENTS} concurrent clients each run {@value #TRANSACTIONS_PER_CLIENT} TPC-B-like
   * transactions; every one must succeed ({@code -M prepared} in transaction mode exercises the
   * mapping of named statements across backends).
   */
  @ParameterizedTest(name = "{0} pooling, -M {1}")
  @MethodSource("modes")
  void pgbenchRunsWithoutFailures(PoolMode mode, String queryMode) throws SQLException {
    long historyBefore = historyRows();
    ProcessResult r =
        pg.run(
            List.of(
                "pgbench",
                "--no-vacuum",
                "-M",
                queryMode,
                "-c",
                Integer.toString(CLIENTS),
                "-j",
                "2",
                "-t",
                Integer.toString(TRANSACTIONS_PER_CLIENT)),
            sluice(mode).libpqEnv(),
            TOOL_TIMEOUT);

    assertThat(r.exitCode()).as(r.toString()).isZero();
    int expected = CLIENTS * TRANSACTIONS_PER_CLIENT;
    Matcher processed = PROCESSED.matcher(r.stdout());
    assertThat(processed.find()).as(r.toString()).isTrue();
    assertThat(Long.parseLong(processed.group(1))).as(r.toString()).isEqualTo(expected);
    if (processed.group(2) != null) {
      assertThat(Long.parseLong(processed.group(2))).as(r.toString()).isEqualTo(expected);
    }
    Matcher failed = FAILED.matcher(r.stdout());
    assertThat(failed.find()).as("pgbench 15+ reports failures: " + r).isTrue();
    assertThat(Long.parseLong(failed.group(1))).as(r.toString()).isZero();
    assertThat(r.stdout()).as(r.toString()).contains("query mode: " + queryMode);
    // Each TPC-B transaction inserts one history row: all of them reached the database.
    assertThat(historyRows() - historyBefore).isEqualTo(expected);
  }

  /**
   * A hundred pgbench clients with named prepared statements share four backends: every client's
   * statements are prepared on whichever backend serves it, and no transaction fails.
   */
  @Test
  void pgbenchPreparedWithAHundredClientsOverFourBackends() throws SQLException {
    long historyBefore = historyRows();
    int clients = 100;
    int perClient = 20;
    try (TestSluice four =
        TestSluice.start(pg, b -> b.poolMode(PoolMode.TRANSACTION).poolSize(4).minIdle(4))) {
      ProcessResult r =
          pg.run(
              List.of(
                  "pgbench",
                  "--no-vacuum",
                  "-M",
                  "prepared",
                  "-c",
                  Integer.toString(clients),
                  "-j",
                  "2",
                  "-t",
                  Integer.toString(perClient)),
              four.libpqEnv(),
              TOOL_TIMEOUT);
      assertThat(r.exitCode()).as(r.toString()).isZero();
      Matcher failed = FAILED.matcher(r.stdout());
      assertThat(failed.find()).as(r.toString()).isTrue();
      assertThat(Long.parseLong(failed.group(1))).as(r.toString()).isZero();
      assertThat(historyRows() - historyBefore).isEqualTo((long) clients * perClient);
      // every client prepared its statements; the four backends prepared them a few times each
      ProxyStats stats = four.server.stats();
      assertThat(stats.clientParses.sum()).isGreaterThanOrEqualTo(clients);
      assertThat(stats.serverParses.sum()).isLessThan(stats.clientParses.sum());
    }
  }

  private long historyRows() throws SQLException {
    try (Connection c = pg.connectApp();
        Statement st = c.createStatement()) {
      return count(st, "pgbench_history");
    }
  }

  private static long count(Statement st, String table) throws SQLException {
    try (ResultSet rs = st.executeQuery("SELECT count(*) FROM " + table)) {
      rs.next();
      return rs.getLong(1);
    }
  }
}
