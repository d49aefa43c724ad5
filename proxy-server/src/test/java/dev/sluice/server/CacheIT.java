package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.cache.CacheDecision;
import dev.sluice.cache.ResultCache;
import dev.sluice.config.PoolMode;
import dev.sluice.testing.PostgresExtension;
import dev.sluice.testing.PostgresServer;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The query result cache through Sluice, against the test server: it never crosses roles or search
 * paths, never serves what must run every time, sees writes made through Sluice at once and writes
 * made elsewhere within max-age, runs concurrent misses once, and returns exactly the bytes
 * PostgreSQL does.
 */
@ExtendWith(PostgresExtension.class)
class CacheIT {
  private static final int TABLES = 4;
  private static final int KEYS = 10;

  private final PostgresServer pg;

  CacheIT(PostgresServer pg) {
    this.pg = pg;
  }

  /** Objects made before any Sluice starts, so its first catalog read knows them. */
  @BeforeAll
  static void schema() throws SQLException {
    PostgresServer pg = PostgresExtension.server();
    try (Connection c = pg.connectSuper();
        Statement st = c.createStatement()) {
      String app = pg.appUser();
      st.execute(
          "DO $$ BEGIN CREATE ROLE cache_alice NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL;"
              + " END $$");
      st.execute(
          "DO $$ BEGIN CREATE ROLE cache_bob NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL;"
              + " END $$");
      st.execute("GRANT cache_alice, cache_bob TO " + app);
    }
    try (Connection c = pg.connect(pg.superUser(), pg.superPassword(), pg.appDatabase());
        Statement st = c.createStatement()) {
      String app = pg.appUser();
      st.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
      st.execute("DROP TABLE IF EXISTS cache_rls, cache_secret, cache_log, cache_kv CASCADE");
      st.execute("DROP SCHEMA IF EXISTS cache_s1, cache_s2 CASCADE");
      st.execute("CREATE TABLE cache_rls (owner text, v int)");
      st.execute(
          "INSERT INTO cache_rls VALUES ('cache_alice', 1), ('cache_alice', 2), ('cache_bob', 3)");
      st.execute("ALTER TABLE cache_rls ENABLE ROW LEVEL SECURITY");
      st.execute("CREATE POLICY mine ON cache_rls USING (owner = current_user)");
      st.execute("GRANT SELECT ON cache_rls TO cache_alice, cache_bob");
      st.execute("CREATE TABLE cache_secret (v int)");
      st.execute("INSERT INTO cache_secret VALUES (42)");
      st.execute("GRANT SELECT ON cache_secret TO cache_alice");
      st.execute("CREATE TABLE cache_log (v int)");
      st.execute("GRANT ALL ON cache_log TO " + app);
      st.execute("CREATE TABLE cache_kv (k int PRIMARY KEY, v int)");
      st.execute("INSERT INTO cache_kv SELECT g, 0 FROM generate_series(0, 9) g");
      st.execute("GRANT ALL ON cache_kv TO " + app);
      for (int t = 0; t < TABLES; t++) {
        st.execute("DROP TABLE IF EXISTS cache_rw" + t);
        st.execute("CREATE TABLE cache_rw" + t + " (k int PRIMARY KEY, v bigint)");
        st.execute(
            "INSERT INTO cache_rw"
                + t
                + " SELECT g, 0 FROM generate_series(0, "
                + (KEYS - 1)
                + ") g");
        st.execute("GRANT ALL ON cache_rw" + t + " TO " + app);
      }
      for (String s : new String[] {"cache_s1", "cache_s2"}) {
        st.execute("CREATE SCHEMA " + s);
        st.execute("CREATE TABLE " + s + ".cache_sp (v text)");
        st.execute("INSERT INTO " + s + ".cache_sp VALUES ('" + s + "')");
        st.execute("GRANT USAGE ON SCHEMA " + s + " TO " + app);
        st.execute("GRANT SELECT ON " + s + ".cache_sp TO " + app);
      }
      st.execute("DROP TABLE IF EXISTS cache_big");
      st.execute("CREATE TABLE cache_big AS SELECT g AS i FROM generate_series(1, 2000) g");
      st.execute("GRANT SELECT ON cache_big TO " + app);
      st.execute("DROP SEQUENCE IF EXISTS cache_seq");
      st.execute("CREATE SEQUENCE cache_seq");
      st.execute("GRANT ALL ON cache_seq TO " + app);
      st.execute(
          "CREATE OR REPLACE FUNCTION cache_f_volatile() RETURNS int VOLATILE LANGUAGE sql"
              + " AS 'SELECT 1'");
      st.execute(
          "CREATE OR REPLACE FUNCTION cache_f_stable() RETURNS int STABLE LANGUAGE sql"
              + " AS 'SELECT 2'");
      st.execute(
          "CREATE OR REPLACE FUNCTION cache_f_immutable(int) RETURNS int IMMUTABLE LANGUAGE sql"
              + " AS 'SELECT $1 * 10'");
    }
  }

  private TestSluice start(PoolMode mode) throws Exception {
    return start(b -> b.poolMode(mode));
  }

  private TestSluice start(java.util.function.UnaryOperator<dev.sluice.config.ProxyConfigBuilder> t)
      throws Exception {
    TestSluice s = TestSluice.start(pg, t);
    awaitCatalogs(s);
    return s;
  }

  /** A first client makes Sluice read the catalogs; wait until they are in. */
  private void awaitCatalogs(TestSluice s) throws Exception {
    try (Connection c = s.connect();
        Statement st = c.createStatement()) {
      st.execute("SELECT 1");
    }
    ResultCache cache = s.server.cache();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
    while (true) {
      Map<String, Integer> sizes = cache.catalogSizes().get(pg.appDatabase());
      if (sizes != null && sizes.get("functions") > 0 && sizes.get("relations") > 0) {
        return;
      }
      assertThat(System.nanoTime()).as("catalogs read within 15 s").isLessThan(deadline);
      Thread.sleep(20);
    }
  }

  private static Properties props(String... kv) {
    return TestSluice.props(kv);
  }

  private static List<String> column(Statement st, String sql) throws SQLException {
    List<String> out = new ArrayList<>();
    try (ResultSet rs = st.executeQuery(sql)) {
      while (rs.next()) {
        out.add(rs.getString(1));
      }
    }
    return out;
  }

  // ---- roles ----

  @ParameterizedTest
  @EnumSource(PoolMode.class)
  void rowLevelSecurityNeverCrossesRoles(PoolMode mode) throws Exception {
    String sql = "SELECT v FROM cache_rls ORDER BY v";
    try (TestSluice s = start(mode);
        Connection alice = s.connect(props("options", "-c role=cache_alice"));
        Connection bob = s.connect(props("options", "-c role=cache_bob"));
        Connection direct = pg.connectApp();
        Statement a = alice.createStatement();
        Statement b = bob.createStatement();
        Statement d = direct.createStatement()) {
      d.execute("SET ROLE cache_alice");
      List<String> aliceDirect = column(d, sql);
      d.execute("SET ROLE cache_bob");
      List<String> bobDirect = column(d, sql);
      assertThat(aliceDirect).isEqualTo(List.of("1", "2"));
      assertThat(bobDirect).isEqualTo(List.of("3"));
      Random r = new Random(7);
      int mismatches = 0;
      for (int i = 0; i < 1_000; i++) {
        boolean asAlice = r.nextBoolean();
        List<String> got = column(asAlice ? a : b, sql);
        if (!got.equals(asAlice ? aliceDirect : bobDirect)) {
          mismatches++;
        }
      }
      assertThat(mismatches).isZero();
      assertThat(s.server.cache().decisions().count(CacheDecision.ROW_SECURITY))
          .as("%s", s.server.cache().decisions().snapshot())
          .isGreaterThanOrEqualTo(1_000);
    }
  }

  @ParameterizedTest
  @EnumSource(PoolMode.class)
  void aRoleWithoutSelectIsRefusedEvenAfterAnotherWarmedTheCache(PoolMode mode) throws Exception {
    try (TestSluice s = start(mode);
        Connection alice = s.connect(props("options", "-c role=cache_alice"));
        Connection bob = s.connect(props("options", "-c role=cache_bob"));
        Statement a = alice.createStatement();
        Statement b = bob.createStatement()) {
      for (int i = 0; i < 5; i++) {
        assertThat(column(a, "SELECT v FROM cache_secret")).containsExactly("42");
      }
      assertThat(s.server.cache().decisions().count(CacheDecision.HIT))
          .as("%s", s.server.cache().decisions().snapshot())
          .isGreaterThanOrEqualTo(4);
      for (int i = 0; i < 10; i++) {
        assertThatThrownBy(() -> column(b, "SELECT v FROM cache_secret"))
            .isInstanceOfSatisfying(
                SQLException.class, e -> assertThat(e.getSQLState()).isEqualTo("42501"));
      }
    }
  }

  @Test
  void searchPathsThatNameOtherSchemasGetTheirOwnResults() throws Exception {
    try (TestSluice s = start(PoolMode.TRANSACTION);
        Connection one = s.connect();
        Connection two = s.connect(props("options", "-c search_path=cache_s2"));
        Statement a = one.createStatement();
        Statement b = two.createStatement()) {
      a.execute("SET search_path = cache_s1");
      for (int i = 0; i < 20; i++) {
        assertThat(column(a, "SELECT v FROM cache_sp")).containsExactly("cache_s1");
        assertThat(column(b, "SELECT v FROM cache_sp")).containsExactly("cache_s2");
      }
      assertThat(s.server.cache().decisions().count(CacheDecision.HIT)).isGreaterThanOrEqualTo(30);
    }
  }

  // ---- never from the cache ----

  @Test
  void whatMustRunEveryTimeRunsEveryTime() throws Exception {
    Map<String, Integer> expectedCalls = new java.util.LinkedHashMap<>();
    String[] always = {
      "SELECT now() AS c_now",
      "SELECT random() AS c_random",
      "SELECT nextval('cache_seq') AS c_nextval",
      "SELECT current_user AS c_current_user",
      "SELECT CURRENT_DATE AS c_current_date",
      "SELECT cache_f_volatile() AS c_volatile",
      "SELECT cache_f_stable() AS c_stable",
      "WITH x AS (INSERT INTO cache_log VALUES (1) RETURNING v) SELECT v AS c_cte FROM x",
      "SELECT v AS c_for_update FROM cache_kv WHERE k = 1 FOR UPDATE",
    };
    for (String sql : always) {
      expectedCalls.put(sql, 3);
    }
    try (TestSluice s = start(PoolMode.TRANSACTION);
        Connection c = s.connect();
        Connection direct = pg.connect(pg.superUser(), pg.superPassword(), pg.appDatabase());
        Statement st = c.createStatement();
        Statement d = direct.createStatement()) {
      d.execute("SELECT pg_stat_statements_reset()");
      for (String sql : always) {
        for (int i = 0; i < 3; i++) {
          st.execute(sql);
        }
      }
      String inTx = "SELECT v AS c_in_transaction FROM cache_kv WHERE k = 2";
      st.execute(inTx); // cached outside a transaction...
      for (int i = 0; i < 3; i++) {
        c.setAutoCommit(false);
        st.execute(inTx); // ...but never inside one
        c.commit();
        c.setAutoCommit(true);
      }
      expectedCalls.put(inTx, 4);
      String immutable = "SELECT cache_f_immutable(2) AS c_immutable";
      for (int i = 0; i < 3; i++) {
        assertThat(column(st, immutable)).containsExactly("20");
      }
      expectedCalls.put(immutable, 1);
      for (Map.Entry<String, Integer> e : expectedCalls.entrySet()) {
        String marker = e.getKey().replaceAll("(?s).* AS (c_[a-z_]+).*", "$1");
        try (ResultSet rs =
            d.executeQuery(
                "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE query LIKE '%"
                    + marker
                    + "%'")) {
          assertThat(rs.next()).isTrue();
          assertThat(rs.getLong(1)).as(e.getKey()).isEqualTo((long) e.getValue());
        }
      }
    }
  }

  // ---- writes ----

  /**
   * Several clients write and read ten keys in each of four tables; each key has one writer, whose
   * values only grow. Once a write has committed, no reader may see an older value.
   */
  @ParameterizedTest
  @EnumSource(PoolMode.class)
  void readsAfterACommittedWriteNeverSeeOlderValues(PoolMode mode) throws Exception {
    int clients = 4;
    int opsPerClient = 2_500;
    AtomicLongArray published = new AtomicLongArray(TABLES * KEYS);
    AtomicLong stale = new AtomicLong();
    AtomicLong reads = new AtomicLong();
    try (TestSluice s = start(mode)) {
      try (Connection c = s.connect();
          Statement st = c.createStatement()) {
        for (int t = 0; t < TABLES; t++) {
          st.execute("UPDATE cache_rw" + t + " SET v = 0");
        }
      }
      ExecutorService pool = Executors.newFixedThreadPool(clients);
      List<Future<?>> done = new ArrayList<>();
      for (int id = 0; id < clients; id++) {
        int me = id;
        done.add(
            pool.submit(
                () -> {
                  run(s, me, opsPerClient, published, stale, reads);
                  return null;
                }));
      }
      for (Future<?> f : done) {
        f.get(5, TimeUnit.MINUTES);
      }
      pool.shutdown();
      assertThat(pool.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
      assertThat(reads.get()).isGreaterThan(clients * opsPerClient / 3);
      assertThat(stale.get()).as("stale reads out of %d", reads.get()).isZero();
      assertThat(s.server.cache().decisions().count(CacheDecision.HIT))
          .as("some reads were answered by the cache: %s", s.server.cache().decisions().snapshot())
          .isGreaterThan(100);
    }
  }

  private static void run(
      TestSluice s, int me, int ops, AtomicLongArray published, AtomicLong stale, AtomicLong reads)
      throws SQLException {
    Random r = new Random(me * 31L + 1);
    long counter = 0;
    try (Connection c = s.connect();
        Statement st = c.createStatement()) {
      PreparedStatement[] read = new PreparedStatement[TABLES];
      for (int t = 0; t < TABLES; t++) {
        read[t] = c.prepareStatement("SELECT v FROM cache_rw" + t + " WHERE k = ?");
      }
      PreparedStatement write =
          c.prepareStatement("UPDATE cache_rw" + me + " SET v = ? WHERE k = ?");
      for (int i = 0; i < ops; i++) {
        if (r.nextInt(10) < 3) {
          int k = r.nextInt(KEYS);
          long v = ++counter;
          boolean block = r.nextInt(4) == 0;
          if (block) {
            c.setAutoCommit(false);
          }
          if (r.nextBoolean()) {
            write.setLong(1, v);
            write.setInt(2, k);
            write.executeUpdate();
          } else {
            st.executeUpdate("UPDATE cache_rw" + me + " SET v = " + v + " WHERE k = " + k);
          }
          if (block) {
            c.commit();
            c.setAutoCommit(true);
          }
          published.set(me * KEYS + k, v);
        } else {
          int t = r.nextInt(TABLES);
          int k = r.nextInt(KEYS);
          long floor = published.get(t * KEYS + k);
          long got;
          if (r.nextBoolean()) {
            read[t].setInt(1, k);
            try (ResultSet rs = read[t].executeQuery()) {
              rs.next();
              got = rs.getLong(1);
            }
          } else {
            try (ResultSet rs = st.executeQuery("SELECT v FROM cache_rw" + t + " WHERE k = " + k)) {
              rs.next();
              got = rs.getLong(1);
            }
          }
          reads.incrementAndGet();
          if (got < floor) {
            stale.incrementAndGet();
          }
        }
      }
    }
  }

  @Test
  void aWriteMadeAroundSluiceShowsWithinMaxAgeAndStaleWhileRevalidate() throws Exception {
    try (TestSluice s =
            start(
                b ->
                    b.cache(
                        c ->
                            c.withMaxAge(Duration.ofSeconds(1))
                                .withStaleWhileRevalidate(Duration.ofSeconds(1))));
        Connection c = s.connect();
        Connection direct = pg.connectApp();
        Statement st = c.createStatement();
        Statement d = direct.createStatement()) {
      d.execute("UPDATE cache_kv SET v = 100 WHERE k = 5");
      String sql = "SELECT v FROM cache_kv WHERE k = 5";
      assertThat(column(st, sql)).containsExactly("100");
      assertThat(column(st, sql)).containsExactly("100");
      d.execute("UPDATE cache_kv SET v = 101 WHERE k = 5");
      long written = System.nanoTime();
      int oldServed = 0;
      while (!column(st, sql).equals(List.of("101"))) {
        oldServed++;
        assertThat(System.nanoTime() - written)
            .as("visible within max-age + stale-while-revalidate")
            .isLessThan(TimeUnit.MILLISECONDS.toNanos(2_500));
        Thread.sleep(10);
      }
      assertThat(oldServed).as("the cache answered meanwhile").isGreaterThan(0);
    }
  }

  // ---- one execution ----

  @Test
  void concurrentIdenticalMissesRunOnce() throws Exception {
    int clients = 100;
    // about 0.3 s of work, so that all hundred ask while the first runs
    String sql = "SELECT count(*) AS c_single FROM cache_big a CROSS JOIN cache_big b";
    try (TestSluice s = start(b -> b.poolSize(20).maxClientConnections(200));
        Connection direct = pg.connect(pg.superUser(), pg.superPassword(), pg.appDatabase());
        Statement d = direct.createStatement()) {
      List<Connection> conns = new ArrayList<>();
      try {
        for (int i = 0; i < clients; i++) {
          conns.add(s.connect());
        }
        d.execute("SELECT pg_stat_statements_reset()");
        CountDownLatch go = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        List<Future<String>> answers = new ArrayList<>();
        for (Connection c : conns) {
          answers.add(
              pool.submit(
                  () -> {
                    go.await();
                    try (Statement st = c.createStatement()) {
                      return column(st, sql).get(0);
                    }
                  }));
        }
        go.countDown();
        for (Future<String> a : answers) {
          assertThat(a.get(60, TimeUnit.SECONDS)).isEqualTo("4000000");
        }
        pool.shutdown();
        assertThat(pool.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
      } finally {
        for (Connection c : conns) {
          c.close();
        }
      }
      try (ResultSet rs =
          d.executeQuery(
              "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements"
                  + " WHERE query LIKE '%c_single%'")) {
        assertThat(rs.next()).isTrue();
        assertThat(rs.getLong(1)).as("backend executions").isEqualTo(1);
      }
    }
  }

  // ---- exact bytes ----

  @Test
  void answersAreTheBytesPostgresqlSendsKeptApartByFormatAndType() throws Exception {
    try (TestSluice s = start(PoolMode.TRANSACTION);
        RawClient direct = RawClient.connect(pg.port(), pg, Map.of());
        RawClient via = RawClient.connect(s, pg)) {
      ResultCache cache = s.server.cache();
      long missesBefore = cache.decisions().count(CacheDecision.MISS);
      long hitsBefore = cache.decisions().count(CacheDecision.HIT);
      List<byte[]> first = new ArrayList<>();
      for (RawClient c : new RawClient[] {direct, via, via}) {
        List<byte[]> answers = new ArrayList<>();
        c.query("SELECT 1::int4 AS a, 'x'::text AS b, 2.50::numeric AS c, NULL::int AS d");
        answers.add(c.readRawUntilReady());
        for (short format : new short[] {0, 1}) {
          c.parse("", "SELECT $1 AS n", new int[] {20});
          c.bind("", "", (short) 0, new byte[][] {"41".getBytes(StandardCharsets.UTF_8)}, format);
          c.describePortal("");
          c.execute("");
          c.sync();
          answers.add(c.readRawUntilReady());
          c.parse("", "SELECT $1 AS n", new int[] {23});
          c.bind("", "", (short) 0, new byte[][] {"41".getBytes(StandardCharsets.UTF_8)}, format);
          c.describePortal("");
          c.execute("");
          c.sync();
          answers.add(c.readRawUntilReady());
        }
        if (first.isEmpty()) {
          first.addAll(answers);
        } else {
          assertThat(answers).hasSameSizeAs(first);
          for (int i = 0; i < first.size(); i++) {
            assertThat(answers.get(i)).as("answer %d", i).isEqualTo(first.get(i));
          }
        }
      }
      // int8 and int4, text and binary: four different answers
      assertThat(first.subList(1, 5).stream().map(java.util.Arrays::toString).distinct())
          .hasSize(4);
      assertThat(cache.decisions().count(CacheDecision.MISS) - missesBefore).isEqualTo(5);
      assertThat(cache.decisions().count(CacheDecision.HIT) - hitsBefore).isEqualTo(5);
    }
  }
}
