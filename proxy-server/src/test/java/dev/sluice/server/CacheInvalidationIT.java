package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.CacheConfig;
import dev.sluice.server.invalidation.InvalidationSource;
import dev.sluice.server.invalidation.SourceState;
import dev.sluice.testing.PostgresExtension;
import dev.sluice.testing.PostgresServer;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Writes made straight to PostgreSQL, around Sluice, reach its cache: at once through a NOTIFY
 * channel, and within milliseconds through the WAL, with max-age long enough (60 s) that only the
 * invalidation can explain a fresh read.
 */
@ExtendWith(PostgresExtension.class)
class CacheInvalidationIT {
  private static final String PUBLICATION = "sluice_cache_it";
  private final PostgresServer pg;

  CacheInvalidationIT(PostgresServer pg) {
    this.pg = pg;
  }

  @BeforeAll
  static void schema() throws SQLException {
    PostgresServer pg = PostgresExtension.server();
    try (Connection c = pg.connect(pg.superUser(), pg.superPassword(), pg.appDatabase());
        Statement st = c.createStatement()) {
      st.execute("ALTER ROLE " + pg.appUser() + " REPLICATION");
      st.execute("DROP PUBLICATION IF EXISTS " + PUBLICATION);
      st.execute("DROP TABLE IF EXISTS cache_oob");
      st.execute("CREATE TABLE cache_oob (k int PRIMARY KEY, v bigint)");
      st.execute("INSERT INTO cache_oob VALUES (1, 0)");
      st.execute("GRANT ALL ON cache_oob TO " + pg.appUser());
      st.execute("CREATE PUBLICATION " + PUBLICATION + " FOR TABLE cache_oob");
    }
  }

  private TestSluice start(java.util.function.UnaryOperator<CacheConfig> cache) throws Exception {
    TestSluice s = TestSluice.start(pg, b -> b.cache(cache));
    // a first client makes Sluice read the catalogs
    try (Connection c = s.connect();
        Statement st = c.createStatement()) {
      st.execute("SELECT 1");
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
    while (true) {
      Map<String, Integer> sizes = s.server.cache().catalogSizes().get(pg.appDatabase());
      boolean catalogs = sizes != null && sizes.get("relations") > 0;
      boolean streaming =
          s.server.invalidationSources().stream()
              .allMatch(src -> src.status().state() == SourceState.STREAMING);
      if (catalogs && streaming) {
        return s;
      }
      assertThat(System.nanoTime())
          .as(
              "catalogs read and sources streaming: %s",
              s.server.invalidationSources().stream().map(InvalidationSource::status).toList())
          .isLessThan(deadline);
      Thread.sleep(20);
    }
  }

  private static long value(Statement st) throws SQLException {
    try (ResultSet rs = st.executeQuery("SELECT v FROM cache_oob WHERE k = 1")) {
      rs.next();
      return rs.getLong(1);
    }
  }

  /** Reads through Sluice until {@code expected} shows; nanoseconds from {@code since}. */
  private static long visibleAfter(Statement st, long expected, long since, Duration limit)
      throws SQLException {
    while (value(st) != expected) {
      assertThat(System.nanoTime() - since)
          .as("value %d visible", expected)
          .isLessThan(limit.toNanos());
    }
    return System.nanoTime() - since;
  }

  @Test
  void aNotifyNamingTheTableMakesADirectWriteVisibleAtOnce() throws Exception {
    try (TestSluice s = start(c -> c.withChannel("sluice_cache_it_chan"));
        Connection via = s.connect();
        Connection direct = pg.connectApp();
        Statement st = via.createStatement();
        Statement d = direct.createStatement()) {
      long v = value(st);
      assertThat(value(st)).isEqualTo(v);
      long hits = s.server.cache().decisions().count(dev.sluice.cache.CacheDecision.HIT);
      assertThat(hits).isPositive();
      d.execute("UPDATE cache_oob SET v = " + (v + 1) + " WHERE k = 1");
      assertThat(value(st)).as("no NOTIFY yet: the cached answer").isEqualTo(v);
      long t = System.nanoTime();
      d.execute("NOTIFY sluice_cache_it_chan, 'public.cache_oob'");
      long took = visibleAfter(st, v + 1, t, Duration.ofSeconds(1));
      assertThat(took).isLessThan(TimeUnit.MILLISECONDS.toNanos(1_000));
      // an empty payload invalidates everything
      d.execute("UPDATE cache_oob SET v = " + (v + 2) + " WHERE k = 1");
      assertThat(value(st)).isEqualTo(v + 1);
      t = System.nanoTime();
      d.execute("NOTIFY sluice_cache_it_chan");
      visibleAfter(st, v + 2, t, Duration.ofSeconds(1));
    }
  }

  @Test
  void throughTheWalADirectWriteIsVisibleWithin100MsAtP99() throws Exception {
    int writes = 1_000;
    long[] latencies = new long[writes];
    try (TestSluice s =
            start(
                c ->
                    c.withInvalidation(CacheConfig.Invalidation.WAL).withPublication(PUBLICATION));
        Connection via = s.connect();
        Connection direct = pg.connectApp();
        Statement st = via.createStatement();
        Statement d = direct.createStatement()) {
      d.execute("SET synchronous_commit = on");
      long v = value(st);
      for (int i = 0; i < writes; i++) {
        assertThat(value(st)).isEqualTo(v); // cached
        v++;
        d.execute("UPDATE cache_oob SET v = " + v + " WHERE k = 1");
        latencies[i] = visibleAfter(st, v, System.nanoTime(), Duration.ofSeconds(5));
      }
      Arrays.sort(latencies);
      long p50 = latencies[writes / 2];
      long p99 = latencies[writes * 99 / 100 - 1];
      System.out.printf(
          "WAL invalidation through Sluice: p50 %.2f ms, p99 %.2f ms, max %.2f ms over %d writes%n",
          p50 / 1e6, p99 / 1e6, latencies[writes - 1] / 1e6, writes);
      assertThat(p99).as("p99").isLessThan(TimeUnit.MILLISECONDS.toNanos(100));
      assertThat(s.server.cache().decisions().count(dev.sluice.cache.CacheDecision.HIT))
          .as("reads between writes came from the cache")
          .isGreaterThanOrEqualTo(writes);
    }
  }
}
