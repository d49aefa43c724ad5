package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.PoolMode;
import dev.sluice.testing.PostgresExtension;
import dev.sluice.testing.PostgresServer;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Startup parameters through Sluice behave as PostgreSQL's own: an unknown or bad one is refused at
 * login with PostgreSQL's error, and what one client asked for never shows in another client's
 * session. PostgreSQL itself is the oracle: every startup packet a test sends through Sluice is
 * also sent to PostgreSQL directly, and the outcomes must match.
 */
@ExtendWith(PostgresExtension.class)
class StartupParametersIT {
  /** Good values, two per setting; an option may carry a -c setting. */
  private static final String[][] GOOD = {
    {"application_name", "app_a", "app_b"},
    {"DateStyle", "German", "ISO, DMY"},
    {"TimeZone", "UTC", "Asia/Tokyo"},
    {"extra_float_digits", "2", "-3"},
    {"options", "-c work_mem=128kB", "-c statement_timeout=7s"},
    {"search_path", "pg_catalog, public", "\"$user\""},
    {"myapp.tag", "x1", "x2"},
  };

  /** Unknown names, bad values, settings a session cannot change. */
  private static final String[][] BAD = {
    {"p0", "v"},
    {"p160", "v"},
    {"DateStyle", "bogus"},
    {"options", "-c work_mem=bogus"},
    {"options", "-c shared_buffers=1MB"},
    {"TimeZone", "Mars/Olympus"},
    {"lock_timeout", "abc"},
    {"extra_float_digits", "99"},
  };

  /**
   * One snapshot of every setting the good values touch, as the session sees them. A custom
   * setting, once any session on a backend has set it, reads as '' there rather than undefined
   * (PostgreSQL cannot drop a placeholder; PgBouncer has the same limit), so '' and unset are
   * compared as one; the README says so.
   */
  private static final String SNAPSHOT =
      "SELECT concat_ws(' | ', current_setting('application_name'),"
          + " current_setting('DateStyle'), current_setting('TimeZone'),"
          + " current_setting('extra_float_digits'), current_setting('work_mem'),"
          + " current_setting('statement_timeout'), current_setting('search_path'),"
          + " coalesce(nullif(current_setting('myapp.tag', true), ''), '<unset>'))";

  private final PostgresServer pg;

  /** What PostgreSQL does with each startup packet: "ok: snapshot" or "SQLSTATE message". */
  private final Map<Map<String, String>, String> oracle = new ConcurrentHashMap<>();

  StartupParametersIT(PostgresServer pg) {
    this.pg = pg;
  }

  /** PostgreSQL's own answer to a login with {@code params}. */
  private String direct(Map<String, String> params) {
    return oracle.computeIfAbsent(params, p -> outcome(pg.port(), p));
  }

  private String outcome(int port, Map<String, String> params) {
    try (RawClient c = RawClient.connect(port, pg, params)) {
      return "ok: " + c.queryValue(SNAPSHOT);
    } catch (RawClient.LoginRefused e) {
      return e.error.sqlState() + " " + e.error.message();
    } catch (IOException e) {
      return "io: " + e;
    }
  }

  @Test
  void anUnknownParameterIsRefusedAtLoginAsPostgresRefusesIt() throws IOException {
    try (TestSluice s = TestSluice.start(pg, b -> b.poolSize(1).minIdle(1))) {
      Map<String, String> p = Map.of("p0", "v");
      assertThat(outcome(s.port(), p))
          .isEqualTo(direct(p))
          .isEqualTo("42704 unrecognized configuration parameter \"p0\"");
      // and the next client, with nothing unusual, finds a clean session
      assertThat(outcome(s.port(), Map.of())).isEqualTo(direct(Map.of()));
    }
  }

  @Test
  void aThousandUnknownParametersNameTheFirstAndLeaveNoTrace() throws IOException {
    try (TestSluice s = TestSluice.start(pg, b -> b.poolSize(1).minIdle(1))) {
      Map<String, String> p = new LinkedHashMap<>();
      for (int i = 0; i < 1000; i++) {
        p.put("p" + i, "v");
      }
      assertThat(outcome(s.port(), p)).isEqualTo(direct(p));
      for (int i = 0; i < 5; i++) {
        assertThat(outcome(s.port(), Map.of())).isEqualTo(direct(Map.of()));
      }
    }
  }

  /**
   * The values a client is told at login are PostgreSQL's spelling of what it asked for (pgjdbc
   * sends {@code DateStyle=ISO} and PostgreSQL reports {@code ISO, MDY}), in both pooling modes.
   */
  @ParameterizedTest(name = "{0}")
  @org.junit.jupiter.params.provider.EnumSource(PoolMode.class)
  void loginReportsTheServersSpellingOfTheClientsSettings(PoolMode mode) throws IOException {
    Map<String, String> p = new LinkedHashMap<>();
    p.put("DateStyle", "ISO");
    p.put("TimeZone", "utc");
    p.put("client_encoding", "utf8");
    p.put("application_name", "spelled");
    Map<String, String> direct;
    try (RawClient c = RawClient.connect(pg.port(), pg, p)) {
      direct = new LinkedHashMap<>(c.parameters);
    }
    try (TestSluice s = TestSluice.start(pg, b -> b.poolMode(mode))) {
      for (int round = 0; round < 2; round++) { // a backend asked the first time, remembered after
        try (RawClient c = RawClient.connect(s, pg, p)) {
          for (String name :
              List.of("DateStyle", "TimeZone", "client_encoding", "application_name")) {
            assertThat(c.parameters.get(name))
                .as("%s, round %d", name, round)
                .isEqualTo(direct.get(name));
          }
          assertThat(c.parameters.get("DateStyle")).isEqualTo("ISO, MDY");
        }
      }
    }
  }

  /**
   * Randomized sequences of clients with good, bad and unknown parameters, two threads at a time,
   * over a pool of one or two backends: every client's outcome is PostgreSQL's, whoever came before
   * it.
   */
  @ParameterizedTest(name = "pool of {0}")
  @ValueSource(ints = {1, 2})
  void noClientsOutcomeDependsOnWhoCameBefore(int poolSize) throws Exception {
    long seed = Long.getLong("sluice.test.seed", System.nanoTime());
    int sequences = poolSize == 1 ? 1000 : 300;
    ConcurrentLinkedQueue<String> mismatches = new ConcurrentLinkedQueue<>();
    int[] innocent = new int[2];
    int[] clients = new int[2];
    try (TestSluice s =
        TestSluice.start(
            pg,
            b ->
                b.poolMode(PoolMode.TRANSACTION)
                    .poolSize(poolSize)
                    .minIdle(1)
                    .acquireTimeout(Duration.ofSeconds(10)))) {
      List<Thread> threads = new ArrayList<>();
      for (int t = 0; t < 2; t++) {
        int thread = t;
        Random random = new Random(seed + t);
        Thread th =
            new Thread(
                () -> {
                  for (int i = 0; i < sequences / 2; i++) {
                    int length = 1 + random.nextInt(4);
                    for (int k = 0; k < length; k++) {
                      Map<String, String> params = randomParams(random);
                      String expected = direct(params);
                      String got = outcome(s.port(), params);
                      clients[thread]++;
                      if (!got.equals(expected)) {
                        if (expected.startsWith("ok")) {
                          innocent[thread]++;
                        }
                        mismatches.add(params + ": Sluice " + got + ", PostgreSQL " + expected);
                      }
                    }
                  }
                },
                "params-" + t);
        threads.add(th);
        th.start();
      }
      for (Thread th : threads) {
        th.join(300_000);
        assertThat(th.isAlive()).as("%s finished", th.getName()).isFalse();
      }
    }
    assertThat(mismatches).as("outcomes that differ from PostgreSQL's (seed %d)", seed).isEmpty();
    assertThat(innocent[0] + innocent[1]).as("innocent clients failed (seed %d)", seed).isZero();
    assertThat(clients[0] + clients[1]).isGreaterThanOrEqualTo(sequences);
  }

  private static Map<String, String> randomParams(Random random) {
    Map<String, String> p = new LinkedHashMap<>();
    int good = random.nextInt(4);
    for (int i = 0; i < good; i++) {
      String[] g = GOOD[random.nextInt(GOOD.length)];
      p.put(g[0], g[1 + random.nextInt(2)]);
    }
    if (random.nextInt(100) < 35) {
      String[] b = BAD[random.nextInt(BAD.length)];
      p.put(b[0], b[1]);
    }
    return p;
  }
}
