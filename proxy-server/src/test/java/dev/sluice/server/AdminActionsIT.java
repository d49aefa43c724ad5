package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sluice.config.HostAndPort;
import dev.sluice.config.ProxyConfig;
import dev.sluice.pool.PoolStats;
import dev.sluice.testing.PostgresExtension;
import dev.sluice.testing.PostgresServer;
import dev.sluice.testing.ProcessResult;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * PAUSE, RESUME, RECONNECT and RELOAD as an operator uses them: through the admin port's POST
 * endpoints and psql on the console, while real clients keep working.
 */
@ExtendWith(PostgresExtension.class)
class AdminActionsIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final PostgresServer pg;

  AdminActionsIT(PostgresServer pg) {
    this.pg = pg;
  }

  private HttpResponse<String> post(TestSluice s, String path, String token) throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + s.server.adminAddress().getPort() + path))
            .timeout(Duration.ofSeconds(60))
            .POST(HttpRequest.BodyPublishers.noBody());
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private ProcessResult console(TestSluice s, String... commands) {
    Map<String, String> env = new HashMap<>(s.libpqEnv());
    env.put("PGDATABASE", "sluice");
    List<String> cmd = new ArrayList<>(List.of("psql", "-X", "-A", "-v", "ON_ERROR_STOP=1"));
    for (String c : commands) {
      cmd.add("-c");
      cmd.add(c);
    }
    return pg.run(cmd, env, Duration.ofSeconds(60));
  }

  private static PoolStats stats(TestSluice s) {
    return s.server.pools().iterator().next().pool().stats();
  }

  private static void await(String what, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (!condition.getAsBoolean()) {
      assertThat(System.nanoTime() - deadline).as("waiting for %s", what).isNegative();
      Thread.sleep(10);
    }
  }

  @Test
  void pauseHoldsASequentialClientWithoutAnErrorAndResumeLetsItFinish() throws Exception {
    try (TestSluice s = TestSluice.start(pg, b -> b.poolSize(2).minIdle(1))) {
      AtomicInteger done = new AtomicInteger();
      Queue<Throwable> errors = new ConcurrentLinkedQueue<>();
      Thread client =
          new Thread(
              () -> {
                try (Connection c = s.connect();
                    Statement st = c.createStatement()) {
                  for (int i = 0; i < 50; i++) {
                    try (ResultSet rs = st.executeQuery("SELECT " + i)) {
                      rs.next();
                      assertThat(rs.getInt(1)).isEqualTo(i);
                    }
                    done.incrementAndGet();
                  }
                } catch (Throwable t) {
                  errors.add(t);
                }
              });
      client.start();
      await("the client under way", () -> done.get() >= 5 || !client.isAlive());

      HttpResponse<String> paused = post(s, "/pause", null);
      assertThat(paused.statusCode()).as(paused.body()).isEqualTo(200);
      JsonNode r = JSON.readTree(paused.body());
      assertThat(r.get("paused").asBoolean()).isTrue();
      assertThat(r.get("quiet").asBoolean()).isTrue();
      assertThat(r.get("backendsInUse").asInt()).isZero();

      // Paused: the client's next query waits, and Sluice holds no backend at all.
      await("the client waiting", () -> stats(s).waiting() == 1);
      int heldAt = done.get();
      assertThat(heldAt).isLessThan(50);
      await("every backend closed", () -> pg.backendCount(null) == 0);
      assertThat(stats(s).total()).isZero();
      assertThat(done.get()).isEqualTo(heldAt);

      HttpResponse<String> resumed = post(s, "/resume", null);
      assertThat(resumed.statusCode()).isEqualTo(200);
      client.join(TimeUnit.SECONDS.toMillis(30));
      assertThat(client.isAlive()).isFalse();
      assertThat(errors).isEmpty();
      assertThat(done.get()).isEqualTo(50);
    }
  }

  @Test
  void theConsolePausesAndResumesToo() throws Exception {
    try (TestSluice s = TestSluice.start(pg, b -> b.poolSize(2).minIdle(1));
        Connection c = s.connect()) {
      c.createStatement().execute("SELECT 1");
      ProcessResult pause = console(s, "PAUSE", "SHOW POOLS");
      assertThat(pause.succeeded()).as(pause.toString()).isTrue();
      assertThat(pause.stdout()).contains("sluice_test|sluice_app|1|0|0|0|0|2|transaction");
      ProcessResult resume = console(s, "RESUME");
      assertThat(resume.succeeded()).as(resume.toString()).isTrue();
      await("min-idle reopened", () -> stats(s).idle() == 1);
      c.createStatement().execute("SELECT 2");
    }
  }

  @Test
  void reloadRaisesThePoolSizeForClientsAlreadyWaitingAndDropsNobody() throws Exception {
    AtomicReference<ProxyConfig> next = new AtomicReference<>();
    try (TestSluice s = TestSluice.start(pg, b -> b.poolSize(2).minIdle(0))) {
      next.set(s.config);
      s.server.reloadFrom(next::get);
      List<Connection> clients = new ArrayList<>();
      List<Thread> threads = new ArrayList<>();
      Queue<Throwable> errors = new ConcurrentLinkedQueue<>();
      CountDownLatch inTransaction = new CountDownLatch(5);
      CountDownLatch finish = new CountDownLatch(1);
      AtomicInteger reused = new AtomicInteger();
      try {
        // Each client logs in on its own thread: a login's settings check needs a backend too.
        for (int i = 0; i < 5; i++) {
          Thread t =
              new Thread(
                  () -> {
                    try (Connection c = s.connect();
                        Statement st = c.createStatement()) {
                      synchronized (clients) {
                        clients.add(c);
                      }
                      c.setAutoCommit(false);
                      st.execute("SELECT pg_backend_pid()");
                      inTransaction.countDown();
                      finish.await();
                      c.commit();
                      c.setAutoCommit(true);
                      try (ResultSet rs = st.executeQuery("SELECT 7")) {
                        assertThat(rs.next()).isTrue();
                        assertThat(rs.getInt(1)).isEqualTo(7);
                      }
                      reused.incrementAndGet();
                    } catch (Throwable e) {
                      errors.add(e);
                    }
                  });
          threads.add(t);
          t.start();
        }
        await("two in transactions and three waiting", () -> stats(s).waiting() == 3);
        await("two in transactions", () -> inTransaction.getCount() == 3);
        assertThat(stats(s).active()).isEqualTo(2);

        ProxyConfig bigger =
            ProxyConfig.builder(s.config.upstream())
                .listen(new HostAndPort("127.0.0.1", 1))
                .adminListen(s.config.adminListen())
                .workerThreads(2)
                .poolSize(5)
                .minIdle(0)
                .build();
        next.set(bigger);
        ProcessResult reload = console(s, "RELOAD");
        assertThat(reload.succeeded()).as(reload.toString()).isTrue();
        assertThat(reload.stdout())
            .contains("poolSize: 2 -> 5|applied")
            .contains("listen: 127.0.0.1:0 -> 127.0.0.1:1|needs a restart");

        assertThat(inTransaction.await(20, TimeUnit.SECONDS)).isTrue();
        assertThat(stats(s).active()).isEqualTo(5);
        finish.countDown();
        for (Thread t : threads) {
          t.join(TimeUnit.SECONDS.toMillis(20));
          assertThat(t.isAlive()).isFalse();
        }
        assertThat(errors).isEmpty();
        assertThat(reused.get()).as("every client went on after its transaction").isEqualTo(5);
        assertThat(s.server.pools().iterator().next().pool().settings().maxSize()).isEqualTo(5);
      } finally {
        finish.countDown();
      }
    }
  }

  @Test
  void reconnectReplacesIdleBackendsAndTheTokenGuardsEveryChange() throws Exception {
    try (TestSluice s = TestSluice.start(pg, b -> b.minIdle(2).adminToken("s3cret-token"))) {
      await("warm", () -> stats(s).idle() == 2);
      List<Integer> before = pids();
      assertThat(before).hasSize(2);

      assertThat(post(s, "/reconnect", null).statusCode()).isEqualTo(401);
      assertThat(post(s, "/reconnect", "wrong").statusCode()).isEqualTo(401);
      assertThat(post(s, "/pause", null).statusCode()).isEqualTo(401);
      assertThat(post(s, "/shutdown", "s3cret-tokenX").statusCode()).isEqualTo(401);
      assertThat(s.server.pools().iterator().next().pool().paused()).isFalse();
      assertThat(pids()).isEqualTo(before);

      HttpResponse<String> r = post(s, "/reconnect", "s3cret-token");
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      assertThat(JSON.readTree(r.body()).get("replacing").asInt()).isEqualTo(2);
      await(
          "two new backends",
          () -> {
            List<Integer> now = pids();
            return now.size() == 2 && now.stream().noneMatch(before::contains);
          });

      HttpResponse<String> get =
          http.send(
              HttpRequest.newBuilder(
                      URI.create(
                          "http://127.0.0.1:" + s.server.adminAddress().getPort() + "/reload"))
                  .GET()
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(get.statusCode()).isEqualTo(405);
    }
  }

  /** Beyond loopback a token is required to start at all, and every change needs it. */
  @Test
  void anAdminPortBeyondLoopbackRefusesChangesWithoutTheToken() throws Exception {
    try (TestSluice s =
        TestSluice.start(
            pg, b -> b.adminListen(new HostAndPort("0.0.0.0", 0)).adminToken("wide-open-no"))) {
      for (String path : List.of("/pause", "/resume", "/reload", "/reconnect", "/shutdown")) {
        HttpResponse<String> r = post(s, path, null);
        assertThat(r.statusCode()).as(path).isEqualTo(401);
        assertThat(r.headers().firstValue("www-authenticate")).hasValue("Bearer");
      }
      assertThat(s.server.pools().iterator().next().pool().paused()).isFalse();
      HttpResponse<String> ok = post(s, "/resume", "wide-open-no");
      assertThat(ok.statusCode()).isEqualTo(200);
    }
  }

  /** The pids of the app database's backends, straight from PostgreSQL. */
  private List<Integer> pids() {
    List<Integer> out = new ArrayList<>();
    try (Connection c = pg.connectSuper();
        ResultSet rs =
            c.createStatement()
                .executeQuery(
                    "SELECT pid FROM pg_stat_activity WHERE datname = '"
                        + pg.appDatabase()
                        + "' AND backend_type = 'client backend' ORDER BY pid")) {
      while (rs.next()) {
        out.add(rs.getInt(1));
      }
    } catch (java.sql.SQLException e) {
      throw new IllegalStateException(e);
    }
    return out;
  }
}
