package dev.sluice.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sluice.testing.PostgresExtension;
import dev.sluice.testing.PostgresServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packaged {@code sluice run --config FILE} as a process, reloaded with SIGHUP the way
 * systemd's ExecReload does it: the file's new pool size applies, a bad file changes nothing, and
 * the process keeps serving until SIGTERM, which it answers with exit code 0.
 */
@ExtendWith(PostgresExtension.class)
class ReloadSignalIT {
  private static final Pattern ADMIN = Pattern.compile("admin port /127\\.0\\.0\\.1:(\\d+)");
  private static final ObjectMapper JSON = new ObjectMapper();
  private final HttpClient http = HttpClient.newHttpClient();

  private static String config(PostgresServer pg, int poolSize) {
    return String.join(
        "\n",
        "upstream: " + pg.uri(pg.appUser(), pg.appPassword(), pg.appDatabase()),
        "listen: 127.0.0.1:0",
        "admin-listen: 127.0.0.1:0",
        "log-format: text",
        "min-idle: 1",
        "pool-size: " + poolSize,
        "");
  }

  private int maxSize(int adminPort) throws Exception {
    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + "/pools"))
                .timeout(Duration.ofSeconds(5))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    JsonNode pools = JSON.readTree(r.body());
    return pools.get(0).get("maxSize").asInt();
  }

  private static void await(String what, BooleanSupplier condition) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!condition.getAsBoolean()) {
      assertThat(System.nanoTime() - deadline).as("waiting for " + what).isNegative();
      Thread.sleep(20);
    }
  }

  private static void hangUp(Process p) throws Exception {
    Process kill = new ProcessBuilder("kill", "-HUP", Long.toString(p.pid())).start();
    assertThat(kill.waitFor(10, TimeUnit.SECONDS)).isTrue();
    assertThat(kill.exitValue()).isZero();
  }

  @Test
  void sighupReloadsTheConfigFileAndABadFileChangesNothing(PostgresServer pg, @TempDir Path dir)
      throws Exception {
    Path jar = Path.of("target", "sluice.jar");
    assertThat(jar).as("the packaged jar (mvn package builds it)").exists();
    Path file = dir.resolve("sluice.yaml");
    Files.writeString(file, config(pg, 3));
    Path log = dir.resolve("sluice.log");
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process p =
        new ProcessBuilder(java, "-jar", jar.toString(), "run", "--config", file.toString())
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .start();
    try {
      int[] adminPort = new int[1];
      await(
          "the listening line",
          () -> {
            Matcher m = ADMIN.matcher(read(log));
            if (m.find()) {
              adminPort[0] = Integer.parseInt(m.group(1));
              return true;
            }
            assertThat(p.isAlive()).as(read(log)).isTrue();
            return false;
          });
      // run logs this once its signal handlers are in place: a HUP before them would stop it.
      await("run's listening line", () -> read(log).contains("sluice listening on"));
      assertThat(maxSize(adminPort[0])).isEqualTo(3);

      Files.writeString(file, config(pg, 7));
      hangUp(p);
      await("pool size 7", () -> sizeIs(adminPort[0], 7));
      assertThat(read(log)).contains("RELOAD by SIGHUP: applied [poolSize: 3 -> 7]");

      Files.writeString(file, config(pg, 7).replace("pool-size: 7", "pool-size: none"));
      hangUp(p);
      await("the failure logged", () -> read(log).contains("reload on SIGHUP failed"));
      assertThat(read(log))
          .contains("the running configuration stays")
          .contains("pool-size")
          .doesNotContain(pg.appPassword());
      assertThat(maxSize(adminPort[0])).isEqualTo(7);
      assertThat(p.isAlive()).isTrue();
    } finally {
      p.destroy();
      assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("exited on SIGTERM").isTrue();
    }
    assertThat(p.exitValue()).as(read(log)).isZero();
  }

  private boolean sizeIs(int adminPort, int size) {
    try {
      return maxSize(adminPort) == size;
    } catch (Exception e) {
      return false;
    }
  }

  private static String read(Path log) {
    try {
      return Files.exists(log) ? Files.readString(log) : "";
    } catch (java.io.IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
