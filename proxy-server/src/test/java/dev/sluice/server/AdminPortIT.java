package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sluice.config.ConfigException;
import dev.sluice.config.HostAndPort;
import dev.sluice.config.ProxyConfig;
import dev.sluice.config.Upstream;
import dev.sluice.testing.PostgresExtension;
import dev.sluice.testing.PostgresServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The admin HTTP port, through a real HTTP client, with Sluice in front of the test server. */
@ExtendWith(PostgresExtension.class)
class AdminPortIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern METRIC_NAME =
      Pattern.compile("\\b(?:sluice|jvm|process|system)_[a-z0-9_]+");
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final PostgresServer pg;

  AdminPortIT(PostgresServer pg) {
    this.pg = pg;
  }

  private HttpResponse<String> get(TestSluice s, String path) throws Exception {
    URI uri = URI.create("http://127.0.0.1:" + s.server.adminAddress().getPort() + path);
    return http.send(
        HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).GET().build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private HttpResponse<String> awaitStatus(TestSluice s, String path, int status) throws Exception {
    long deadline = System.nanoTime() + 15_000_000_000L;
    HttpResponse<String> r;
    while ((r = get(s, path)).statusCode() != status) {
      assertThat(System.nanoTime())
          .as("%s answering %d (last: %s)", path, status, r.body())
          .isLessThan(deadline);
      Thread.sleep(50);
    }
    return r;
  }

  @Test
  void healthReadinessMetricsAndTheJsonViews() throws Exception {
    try (TestSluice s = TestSluice.start(pg, b -> b.minIdle(2));
        Connection c = s.connect()) {
      c.createStatement().execute("SELECT 1");

      assertThat(get(s, "/healthz").statusCode()).isEqualTo(200);
      assertThat(awaitStatus(s, "/readyz", 200).body()).isEqualTo("ready\n");

      HttpResponse<String> metrics = get(s, "/metrics");
      assertThat(metrics.statusCode()).isEqualTo(200);
      assertThat(metrics.headers().firstValue("content-type"))
          .get()
          .asString()
          .startsWith("text/plain");
      assertThat(metrics.body())
          .contains("sluice_clients 1.0")
          .containsPattern(
              "sluice_pool_size\\{database=\"sluice_test\",user=\"sluice_app\"\\} [1-9]")
          .contains("sluice_backend_logins_total")
          .contains("sluice_upstream_circuit_open 0.0")
          .contains("jvm_memory_used_bytes");

      JsonNode health = JSON.readTree(get(s, "/health").body());
      assertThat(health.get("status").asText()).isEqualTo("up");
      assertThat(health.get("upstream").get("circuit").asText()).isEqualTo("CLOSED");
      assertThat(health.get("pools").get(0).get("database").asText()).isEqualTo("sluice_test");

      JsonNode clients = JSON.readTree(get(s, "/clients").body());
      assertThat(clients).hasSize(1);
      assertThat(clients.get(0).get("state").asText()).isEqualTo("IDLE");
      assertThat(clients.get(0).get("user").asText()).isEqualTo(pg.appUser());

      JsonNode servers = JSON.readTree(get(s, "/servers").body());
      assertThat(servers.size()).isGreaterThanOrEqualTo(2);
      assertThat(servers.get(0).get("state").asText()).isIn("IDLE", "LINKED");

      String config = get(s, "/config").body();
      assertThat(config).contains("\"poolMode\" : \"transaction\"").contains(":****@");
      assertThat(config).doesNotContain(pg.appPassword());
    }
  }

  @Test
  void theCacheViewCountsHitsAndMisses() throws Exception {
    try (TestSluice s = TestSluice.start(pg, b -> b);
        Connection c = s.connect(new java.util.Properties());
        Statement st = c.createStatement()) {
      // the catalogs arrive shortly after the first client: until then nothing with a function or
      // a table is cacheable, but a plain SELECT of constants is
      for (int i = 0; i < 3; i++) {
        try (ResultSet rs = st.executeQuery("SELECT 42 AS answer")) {
          assertThat(rs.next()).isTrue();
          assertThat(rs.getInt(1)).isEqualTo(42);
        }
      }
      HttpResponse<String> r = get(s, "/cache");
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.headers().firstValue("content-type")).get().asString().contains("json");
      JsonNode cache = JSON.readTree(r.body());
      assertThat(cache.get("enabled").asBoolean()).isTrue();
      assertThat(cache.get("decisions").get("miss").asLong()).isEqualTo(1);
      assertThat(cache.get("decisions").get("hit").asLong()).isEqualTo(2);
      assertThat(cache.get("entries").asLong()).isEqualTo(1);
      assertThat(cache.get("hitRatio").asDouble())
          .isCloseTo(2 / 3.0, org.assertj.core.data.Offset.offset(1e-9));
      assertThat(JSON.readTree(get(s, "/health").body()).get("cache").get("enabled").asBoolean())
          .isTrue();
      String metrics = get(s, "/metrics").body();
      assertThat(metrics)
          .contains("sluice_cache_decisions_total{decision=\"hit\"} 2.0")
          .contains("sluice_cache_decisions_total{decision=\"miss\"} 1.0")
          .contains("sluice_cache_entries 1.0");
    }
    try (TestSluice s = TestSluice.start(pg, b -> b.cache(c -> c.withEnabled(false)))) {
      JsonNode cache = JSON.readTree(get(s, "/cache").body());
      assertThat(cache.get("enabled").asBoolean()).isFalse();
      assertThat(cache.get("reason").asText()).isEqualTo("--cache off");
    }
  }

  /**
   * config/grafana/sluice-dashboard.json charts only metrics a running Sluice exports, and every
   * {@code sluice_*} metric it exports is charted.
   */
  @Test
  void theGrafanaDashboardMatchesTheExportedMetrics() throws Exception {
    JsonNode dashboard =
        JSON.readTree(Path.of("..", "config", "grafana", "sluice-dashboard.json").toFile());
    Set<String> charted = new TreeSet<>();
    for (JsonNode expr : dashboard.findValues("expr")) {
      Matcher m = METRIC_NAME.matcher(expr.asText());
      while (m.find()) {
        charted.add(m.group());
      }
    }
    Set<String> exported;
    try (TestSluice s = TestSluice.start(pg, b -> b.minIdle(1));
        Connection c = s.connect()) {
      c.createStatement().execute("SELECT 1");
      exported =
          get(s, "/metrics")
              .body()
              .lines()
              .filter(line -> !line.startsWith("#") && !line.isBlank())
              .map(line -> line.split("[{ ]", 2)[0])
              .collect(Collectors.toCollection(TreeSet::new));
    }

    assertThat(charted).hasSizeGreaterThan(20);
    assertThat(exported).containsAll(charted);
    assertThat(charted)
        .containsAll(exported.stream().filter(n -> n.startsWith("sluice_")).toList());
  }

  @Test
  void theStatusPageIsServedWithAStrictPolicyAndTheCountersAsJson() throws Exception {
    try (TestSluice s = TestSluice.start(pg, b -> b)) {
      HttpResponse<String> page = get(s, "/");
      assertThat(page.statusCode()).isEqualTo(200);
      assertThat(page.headers().firstValue("content-type")).hasValue("text/html; charset=utf-8");
      assertThat(page.headers().firstValue("x-content-type-options")).hasValue("nosniff");
      assertThat(page.headers().firstValue("cache-control")).hasValue("no-store");
      assertThat(page.headers().firstValue("content-security-policy"))
          .get()
          .asString()
          .startsWith("default-src 'none'; script-src 'sha256-")
          .contains("; style-src 'sha256-")
          .contains("connect-src 'self'")
          .doesNotContain("unsafe");
      assertThat(page.body()).contains("<title>Sluice status</title>");
      assertThat(get(s, "/?refresh=1").body()).isEqualTo(page.body());

      awaitStatus(s, "/readyz", 200); // the warm backend has logged in
      HttpResponse<String> stats = get(s, "/stats");
      assertThat(stats.headers().firstValue("content-type")).hasValue("application/json");
      assertThat(stats.headers().firstValue("x-content-type-options")).hasValue("nosniff");
      JsonNode counters = JSON.readTree(stats.body());
      assertThat(counters.get("clients").asInt()).isZero();
      assertThat(counters.get("backendLogins").asLong()).isPositive();
      assertThat(counters.get("circuit").asText()).isEqualTo("CLOSED");
      assertThat(counters.get("replays").asLong()).isZero();
      assertThat(counters.get("clientErrors").asLong()).isZero();
      assertThat(counters.get("clientCloses").get("authentication_failed").asLong()).isZero();

      assertThatThrownBy(() -> DriverManager.getConnection(s.jdbcUrl(), pg.appUser(), "wrong"))
          .isInstanceOf(SQLException.class);
      counters = JSON.readTree(get(s, "/stats").body());
      assertThat(counters.get("clientErrors").asLong()).isEqualTo(1);
      assertThat(counters.get("clientCloses").get("authentication_failed").asLong()).isEqualTo(1);
      assertThat(get(s, "/metrics").body())
          .contains("sluice_client_closes_total{reason=\"authentication_failed\"} 1.0");
    }
  }

  @Test
  void unknownPathsWrongMethodsAndOversizedOrCompressedRequestsAreRefused() throws Exception {
    try (TestSluice s = TestSluice.start(pg, b -> b)) {
      int port = s.server.adminAddress().getPort();
      assertThat(get(s, "/nope").statusCode()).isEqualTo(404);
      HttpResponse<String> post =
          http.send(
              HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health"))
                  .POST(HttpRequest.BodyPublishers.ofString("{}"))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(post.statusCode()).isEqualTo(405);
      assertThat(raw(port, "POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"))
          .startsWith("HTTP/1.1 413");
      assertThat(
              raw(
                  port,
                  "POST /health HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\n"
                      + "Content-Length: 2\r\n\r\nxx"))
          .startsWith("HTTP/1.1 415");
      assertThat(raw(port, "GET /" + "a".repeat(10_000) + " HTTP/1.1\r\nHost: x\r\n\r\n"))
          .startsWith("HTTP/1.1 414");
      assertThat(
              raw(
                  port,
                  "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + "b".repeat(20_000) + "\r\n\r\n"))
          .startsWith("HTTP/1.1 431");
      // and it still answers
      assertThat(get(s, "/healthz").statusCode()).isEqualTo(200);
    }
  }

  @Test
  void readinessReportsAnUpstreamThatCannotBeReached() throws Exception {
    int closedPort;
    try (ServerSocket probe = new ServerSocket(0)) {
      closedPort = probe.getLocalPort();
    }
    Upstream nowhere =
        new Upstream(
            List.of(new HostAndPort("127.0.0.1", closedPort)),
            pg.appDatabase(),
            pg.appUser(),
            pg.appPassword(),
            Upstream.SslMode.DISABLE,
            Map.of());
    try (TestSluice s =
        TestSluice.start(pg, b -> b.upstream(nowhere).minIdle(1).connectRetries(0))) {
      HttpResponse<String> r = awaitStatus(s, "/readyz", 503);
      assertThat(r.body()).startsWith("not ready: ");
      assertThat(JSON.readTree(get(s, "/health").body()).get("status").asText())
          .isEqualTo("degraded");
    }
  }

  @Test
  void anAdminPortBeyondLoopbackNeedsAToken() {
    Upstream up =
        new Upstream(
            List.of(new HostAndPort("127.0.0.1", 5)),
            "db",
            "u",
            "p",
            Upstream.SslMode.DISABLE,
            Map.of());
    assertThatThrownBy(
            () -> ProxyConfig.builder(up).adminListen(new HostAndPort("0.0.0.0", 9930)).build())
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("--admin-token");
    assertThat(
            ProxyConfig.builder(up)
                .adminListen(new HostAndPort("0.0.0.0", 9930))
                .adminToken("t")
                .build()
                .adminToken())
        .isEqualTo("t");
  }

  /** Sends raw bytes and returns what came back until the server closed. */
  private static String raw(int port, String request) throws IOException {
    try (Socket sock = new Socket("127.0.0.1", port)) {
      sock.setSoTimeout(10_000);
      OutputStream out = sock.getOutputStream();
      out.write(request.getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
      InputStream in = sock.getInputStream();
      ByteArrayOutputStream got = new ByteArrayOutputStream();
      byte[] buf = new byte[4096];
      int n;
      try {
        while ((n = in.read(buf)) >= 0) {
          got.write(buf, 0, n);
        }
      } catch (IOException e) {
        // reset after the answer: what came is what counts
      }
      return got.toString(StandardCharsets.ISO_8859_1);
    }
  }
}
