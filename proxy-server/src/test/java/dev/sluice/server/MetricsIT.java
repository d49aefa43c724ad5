package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.testing.PostgresExtension;
import dev.sluice.testing.PostgresServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The timings and byte counts of {@code /metrics}, read from its Prometheus text under load. */
@ExtendWith(PostgresExtension.class)
class MetricsIT {
  private static final String WAIT = "sluice_acquire_wait_seconds";
  private static final String QUERY = "sluice_query_duration_seconds";

  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final PostgresServer pg;

  MetricsIT(PostgresServer pg) {
    this.pg = pg;
  }

  /**
   * With one backend held in a transaction, a second client's query waits for it; the holder then
   * runs pg_sleep(0.2) before committing, so the wait (and the waiting query) lasts at least 0.2 s,
   * and lands in no bucket below it.
   */
  @Test
  void aClientWaitingForABackendIsTimedAndSoIsItsQuery() throws Exception {
    try (TestSluice s = TestSluice.start(pg, b -> b.poolSize(1).minIdle(1));
        Connection holder = s.connect();
        Connection waiter = s.connect()) {
      holder.setAutoCommit(false);
      holder.createStatement().execute("SELECT 1");
      Map<String, Double> before = scrape(s);

      CompletableFuture<Integer> waited =
          CompletableFuture.supplyAsync(
              () -> {
                try (Statement st = waiter.createStatement();
                    ResultSet rs = st.executeQuery("SELECT 2")) {
                  rs.next();
                  return rs.getInt(1);
                } catch (Exception e) {
                  throw new IllegalStateException(e);
                }
              });
      awaitWaiting(s, 1);
      holder.createStatement().execute("SELECT pg_sleep(0.2)");
      holder.commit();
      assertThat(waited.get(10, TimeUnit.SECONDS)).isEqualTo(2);
      Map<String, Double> after = scrape(s);

      // One acquire (the waiter's): at least 0.2 s, so in +Inf and 0.25 but not in 0.1.
      assertThat(delta(before, after, WAIT + "_count")).isEqualTo(1.0);
      assertThat(delta(before, after, WAIT + "_sum")).isGreaterThanOrEqualTo(0.2);
      assertThat(after.get(WAIT + "_max")).isGreaterThanOrEqualTo(0.2);
      assertThat(delta(before, after, WAIT + "_bucket{le=\"0.1\"}")).isEqualTo(0.0);
      assertThat(delta(before, after, WAIT + "_bucket{le=\"+Inf\"}")).isEqualTo(1.0);
      // Three requests answered: the holder's pg_sleep and COMMIT, and the waiter's SELECT; the
      // first and the last took at least 0.2 s each.
      assertThat(delta(before, after, QUERY + "_count")).isEqualTo(3.0);
      assertThat(delta(before, after, QUERY + "_sum")).isGreaterThanOrEqualTo(0.4);
      assertThat(delta(before, after, QUERY + "_bucket{le=\"0.1\"}")).isLessThanOrEqualTo(1.0);
      assertThat(delta(before, after, QUERY + "_bucket{le=\"+Inf\"}")).isEqualTo(3.0);
    }
  }

  /** 100 queries for a 1000-character value: at least that text crosses each side each way. */
  @Test
  void bytesAreCountedOnBothSidesInBothDirections() throws Exception {
    // every execution must reach the backend: the result cache would answer it otherwise
    String sql = "/* sluice:no-cache */ SELECT repeat('x', 1000)";
    try (TestSluice s = TestSluice.start(pg, b -> b);
        Connection c = s.connect()) {
      Map<String, Double> before = scrape(s);
      for (int i = 0; i < 100; i++) {
        try (Statement st = c.createStatement();
            ResultSet rs = st.executeQuery(sql)) {
          rs.next();
          assertThat(rs.getString(1)).hasSize(1000);
        }
      }
      Map<String, Double> after = scrape(s);

      double requests = 100.0 * sql.length();
      double rows = 100.0 * 1000;
      assertThat(delta(before, after, "sluice_client_bytes_received_total"))
          .isGreaterThanOrEqualTo(requests);
      assertThat(delta(before, after, "sluice_server_bytes_sent_total"))
          .isGreaterThanOrEqualTo(requests);
      assertThat(delta(before, after, "sluice_server_bytes_received_total"))
          .isGreaterThanOrEqualTo(rows);
      assertThat(delta(before, after, "sluice_client_bytes_sent_total"))
          .isGreaterThanOrEqualTo(rows);
      assertThat(delta(before, after, QUERY + "_count")).isEqualTo(100.0);
      assertThat(delta(before, after, WAIT + "_count")).isEqualTo(100.0);
    }
  }

  private void awaitWaiting(TestSluice s, int n) throws Exception {
    String gauge =
        "sluice_pool_waiting{database=\"" + pg.appDatabase() + "\",user=\"" + pg.appUser() + "\"}";
    long deadline = System.nanoTime() + 10_000_000_000L;
    double waiting;
    while ((waiting = scrape(s).getOrDefault(gauge, 0.0)) != n) {
      assertThat(System.nanoTime())
          .as("%s reaching %d (now %s)", gauge, n, waiting)
          .isLessThan(deadline);
      Thread.sleep(20);
    }
  }

  private static double delta(Map<String, Double> before, Map<String, Double> after, String key) {
    assertThat(after).containsKey(key);
    return after.get(key) - before.getOrDefault(key, 0.0);
  }

  /** Each sample of the Prometheus text, keyed by its name and labels as written. */
  private Map<String, Double> scrape(TestSluice s) throws Exception {
    URI uri = URI.create("http://127.0.0.1:" + s.server.adminAddress().getPort() + "/metrics");
    String body =
        http.send(
                HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).GET().build(),
                HttpResponse.BodyHandlers.ofString())
            .body();
    Map<String, Double> samples = new HashMap<>();
    body.lines()
        .filter(l -> !l.startsWith("#") && !l.isBlank())
        .forEach(
            l -> {
              int sp = l.lastIndexOf(' ');
              samples.put(l.substring(0, sp), Double.parseDouble(l.substring(sp + 1)));
            });
    return samples;
  }
}
