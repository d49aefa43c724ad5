package dev.sluice.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code sluice status}: ask a running Sluice's admin port how its pools are, as a table. */
@Command(
    name = "status",
    mixinStandardHelpOptions = true,
    versionProvider = VersionProvider.class,
    description = {
      "Show a running Sluice's upstream, clients and pools, from its admin port.",
      "Exits 1 when the admin port does not answer, 3 when Sluice is not ready."
    },
    footer = {
      "",
      "Examples:",
      "  sluice status",
      "  sluice status --admin http://10.0.0.5:9930 --admin-token \"$SLUICE_ADMIN_TOKEN\""
    })
final class StatusCommand implements Callable<Integer> {
  static final int NOT_READY = 3;
  private static final ObjectMapper JSON = new ObjectMapper();

  @Spec CommandSpec spec;

  @Option(
      names = "--admin",
      paramLabel = "URL",
      description =
          "The admin port. Default: from SLUICE_ADMIN_LISTEN, else http://127.0.0.1:9930.")
  String admin;

  @Option(
      names = "--admin-token",
      paramLabel = "TOKEN",
      description = "Bearer token, when the admin port needs one. Env: SLUICE_ADMIN_TOKEN.")
  String token;

  private final Map<String, String> env;

  StatusCommand(Map<String, String> env) {
    this.env = env;
  }

  @Override
  public Integer call() {
    String base = admin != null ? admin : defaultAdmin();
    PrintWriter out = spec.commandLine().getOut();
    JsonNode health;
    try {
      health = get(base + "/health");
    } catch (IOException e) {
      spec.commandLine()
          .getErr()
          .println("sluice: no answer from the admin port at " + base + ": " + e.getMessage());
      return OneLineErrors.FAILURE;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return OneLineErrors.FAILURE;
    }
    JsonNode up = health.path("upstream");
    out.printf(
        "status %s%s; upstream %s, circuit %s; %d clients%n",
        health.path("status").asText(),
        health.has("reason") ? " (" + health.path("reason").asText() + ")" : "",
        String.join(",", texts(up.path("hosts"))),
        up.path("circuit").asText(),
        health.path("clients").asInt());
    List<String[]> rows = new ArrayList<>();
    rows.add(new String[] {"DATABASE", "USER", "SIZE", "ACTIVE", "IDLE", "CONNECTING", "WAITING"});
    for (JsonNode p : health.path("pools")) {
      rows.add(
          new String[] {
            p.path("database").asText(),
            p.path("user").asText(),
            p.path("total").asText(),
            p.path("active").asText(),
            p.path("idle").asText(),
            p.path("connecting").asText(),
            p.path("waiting").asText()
          });
    }
    table(out, rows);
    out.flush();
    return "up".equals(health.path("status").asText()) ? 0 : NOT_READY;
  }

  private String defaultAdmin() {
    String listen = env.get("SLUICE_ADMIN_LISTEN");
    return "http://" + (listen == null || listen.isBlank() ? "127.0.0.1:9930" : listen.strip());
  }

  private JsonNode get(String url) throws IOException, InterruptedException {
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    HttpRequest.Builder req =
        HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10));
    String t = token != null ? token : env.get("SLUICE_ADMIN_TOKEN");
    if (t != null && !t.isBlank()) {
      req.header("Authorization", "Bearer " + t);
    }
    HttpResponse<String> r = http.send(req.GET().build(), HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() != 200 && r.statusCode() != 503) {
      throw new IOException("HTTP " + r.statusCode());
    }
    return JSON.readTree(r.body());
  }

  private static List<String> texts(JsonNode array) {
    List<String> out = new ArrayList<>();
    array.forEach(n -> out.add(n.asText()));
    return out;
  }

  /** Columns as wide as their widest cell, two spaces apart. */
  private static void table(PrintWriter out, List<String[]> rows) {
    int[] width = new int[rows.get(0).length];
    for (String[] r : rows) {
      for (int i = 0; i < r.length; i++) {
        width[i] = Math.max(width[i], r[i].length());
      }
    }
    for (String[] r : rows) {
      StringBuilder line = new StringBuilder();
      for (int i = 0; i < r.length; i++) {
        line.append(i == 0 ? "" : "  ").append(String.format("%-" + width[i] + "s", r[i]));
      }
      out.println(line.toString().stripTrailing());
    }
  }
}
