package dev.sluice.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * A headless Chromium with one page, driven over the Chrome DevTools Protocol: JSON commands on the
 * browser's WebSocket (one flat session for the page), with no driver to match to the browser's
 * version. It records what the page reports as going wrong: uncaught exceptions, {@code
 * console.error}, and the browser's own error log entries (a refused inline script, a failed load).
 *
 * <p>The browser runs with a throwaway profile and a debugging port the kernel picks (read back
 * from the profile's {@code DevToolsActivePort}); {@link #close} ends it and its helper processes
 * and fails if any of them outlives it. Chromium missing is a failure that says how to install it,
 * never a skipped test.
 */
final class HeadlessChromium implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration START_TIMEOUT = Duration.ofSeconds(30);
  private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(15);
  private static final Duration EXIT_TIMEOUT = Duration.ofSeconds(10);
  private static final List<String> NAMES = List.of("chromium", "chromium-browser");

  /** Something the page or the browser reported as an error; {@code kind} says where from. */
  record Problem(String kind, String text) {}

  private final Process process;
  private final Path profile;
  private final AtomicInteger ids = new AtomicInteger();
  private final Map<Integer, CompletableFuture<JsonNode>> pending = new ConcurrentHashMap<>();
  private final List<Problem> problems = new CopyOnWriteArrayList<>();
  private WebSocket socket;
  private String session;

  private HeadlessChromium(Process process, Path profile) {
    this.process = process;
    this.profile = profile;
  }

  /** Starts Chromium and opens one blank page with its console and log watched. */
  static HeadlessChromium launch() throws IOException, InterruptedException {
    Path binary = findChromium();
    Path profile = Files.createTempDirectory("sluice-chromium-");
    ProcessBuilder pb =
        new ProcessBuilder(
                binary.toString(),
                "--headless=new",
                "--remote-debugging-port=0",
                "--user-data-dir=" + profile,
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-extensions",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--no-default-browser-check",
                "about:blank")
            .redirectErrorStream(true)
            .redirectOutput(profile.resolve("chromium.log").toFile());
    // Crash reports and other per-user state go to ~/.config unless told otherwise: keep them in
    // the throwaway profile too.
    pb.environment().put("XDG_CONFIG_HOME", profile.resolve("config").toString());
    pb.environment().put("XDG_CACHE_HOME", profile.resolve("cache").toString());
    Process p = pb.start();
    HeadlessChromium browser = new HeadlessChromium(p, profile);
    try {
      browser.connect(browser.awaitDevToolsAddress());
      browser.openPage();
      return browser;
    } catch (IOException | InterruptedException | RuntimeException e) {
      browser.close();
      throw e;
    }
  }

  private static Path findChromium() {
    String path = Optional.ofNullable(System.getenv("PATH")).orElse("/usr/bin:/bin");
    for (String dir : path.split(File.pathSeparator)) {
      for (String name : NAMES) {
        Path candidate = Path.of(dir, name);
        if (Files.isExecutable(candidate)) {
          return candidate;
        }
      }
    }
    throw new IllegalStateException(
        "This test drives a real headless browser and needs Chromium, but neither "
            + String.join(" nor ", NAMES)
            + " is on PATH. Install it: apt-get install chromium");
  }

  /** The browser's WebSocket address, once Chromium has written it into the profile. */
  private URI awaitDevToolsAddress() throws IOException, InterruptedException {
    Path file = profile.resolve("DevToolsActivePort");
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    while (true) {
      if (Files.exists(file)) {
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        if (lines.size() >= 2 && !lines.get(1).isBlank()) {
          return URI.create("ws://127.0.0.1:" + lines.get(0).trim() + lines.get(1).trim());
        }
      }
      if (!process.isAlive()) {
        throw new IllegalStateException(
            "chromium exited with " + process.exitValue() + " before listening:\n" + log());
      }
      if (System.nanoTime() - deadline > 0) {
        throw new IllegalStateException(
            "chromium did not open its debugging port within " + START_TIMEOUT + ":\n" + log());
      }
      Thread.sleep(50);
    }
  }

  private void connect(URI address) throws InterruptedException {
    try {
      socket =
          HttpClient.newHttpClient()
              .newWebSocketBuilder()
              .connectTimeout(COMMAND_TIMEOUT)
              .buildAsync(address, new Listener())
              .get(COMMAND_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException("cannot reach chromium's DevTools at " + address, e);
    }
  }

  private void openPage() throws InterruptedException {
    String target =
        browserCommand("Target.createTarget", params().put("url", "about:blank"))
            .get("targetId")
            .asText();
    session =
        browserCommand(
                "Target.attachToTarget", params().put("targetId", target).put("flatten", true))
            .get("sessionId")
            .asText();
    command("Runtime.enable", params());
    command("Log.enable", params());
    command("Page.enable", params());
  }

  /** Loads {@code url} in the page and waits until its document has loaded. */
  void navigate(String url) throws InterruptedException {
    JsonNode r = command("Page.navigate", params().put("url", url));
    if (r.hasNonNull("errorText")) {
      throw new IllegalStateException("chromium could not load " + url + ": " + r.get("errorText"));
    }
    long deadline = System.nanoTime() + COMMAND_TIMEOUT.toNanos();
    while (!"complete".equals(evaluate("document.readyState").asText())) {
      if (System.nanoTime() - deadline > 0) {
        throw new IllegalStateException(url + " did not finish loading within " + COMMAND_TIMEOUT);
      }
      Thread.sleep(50);
    }
  }

  /**
   * The value of a JavaScript expression in the page, as JSON (objects and arrays by value); an
   * exception the expression throws fails the caller.
   */
  JsonNode evaluate(String expression) throws InterruptedException {
    JsonNode r =
        command(
            "Runtime.evaluate", params().put("expression", expression).put("returnByValue", true));
    if (r.has("exceptionDetails")) {
      throw new IllegalStateException(
          "the page threw evaluating an expression: " + describe(r.get("exceptionDetails")));
    }
    JsonNode value = r.path("result").get("value");
    return value == null ? NullNode.getInstance() : value;
  }

  /** Everything reported as an error so far, oldest first. */
  List<Problem> problems() {
    return List.copyOf(problems);
  }

  private JsonNode command(String method, ObjectNode params) throws InterruptedException {
    return send(method, params, session);
  }

  private JsonNode browserCommand(String method, ObjectNode params) throws InterruptedException {
    return send(method, params, null);
  }

  private JsonNode send(String method, ObjectNode params, String sessionId)
      throws InterruptedException {
    int id = ids.incrementAndGet();
    ObjectNode msg = JSON.createObjectNode().put("id", id).put("method", method);
    msg.set("params", params);
    if (sessionId != null) {
      msg.put("sessionId", sessionId);
    }
    CompletableFuture<JsonNode> reply = new CompletableFuture<>();
    pending.put(id, reply);
    try {
      // One frame at a time: a WebSocket refuses a send while the previous one is in progress.
      synchronized (this) {
        socket.sendText(msg.toString(), true).get(COMMAND_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
      }
      return reply.get(COMMAND_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      throw new IllegalStateException(method + " failed: " + e.getCause().getMessage(), e);
    } catch (TimeoutException e) {
      throw new IllegalStateException(method + " got no answer within " + COMMAND_TIMEOUT, e);
    } finally {
      pending.remove(id);
    }
  }

  private static ObjectNode params() {
    return JSON.createObjectNode();
  }

  /** Replies complete their command; events of interest become {@link Problem}s. */
  private void onMessage(JsonNode msg) {
    if (msg.has("id")) {
      CompletableFuture<JsonNode> reply = pending.get(msg.get("id").asInt());
      if (reply != null && msg.has("error")) {
        reply.completeExceptionally(new IllegalStateException(msg.get("error").toString()));
      } else if (reply != null) {
        reply.complete(msg.path("result"));
      }
      return;
    }
    JsonNode p = msg.path("params");
    switch (msg.path("method").asText()) {
      case "Runtime.exceptionThrown" ->
          problems.add(new Problem("exception", describe(p.path("exceptionDetails"))));
      case "Runtime.consoleAPICalled" -> {
        String type = p.path("type").asText();
        if (type.equals("error") || type.equals("assert")) {
          List<String> args = new ArrayList<>();
          p.path("args")
              .forEach(
                  a ->
                      args.add(
                          a.has("value")
                              ? a.get("value").asText()
                              : a.path("description").asText()));
          problems.add(new Problem("console." + type, String.join(" ", args)));
        }
      }
      case "Log.entryAdded" -> {
        JsonNode entry = p.path("entry");
        if (entry.path("level").asText().equals("error")) {
          problems.add(
              new Problem(
                  entry.path("source").asText(),
                  entry.path("text").asText() + " " + entry.path("url").asText("")));
        }
      }
      default -> {
        // other events are not needed
      }
    }
  }

  private static String describe(JsonNode exceptionDetails) {
    JsonNode ex = exceptionDetails.path("exception");
    String text = exceptionDetails.path("text").asText();
    return ex.has("description") ? text + " " + ex.get("description").asText() : text;
  }

  /** Chromium's own output, for failure messages. */
  private String log() {
    try {
      return Files.readString(profile.resolve("chromium.log"), StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }

  /** Asks the browser to quit, ends whatever remains, and fails if any process outlives it. */
  @Override
  public void close() {
    List<ProcessHandle> helpers = process.descendants().toList();
    try {
      quit();
      awaitExit(helpers);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
      helpers.forEach(ProcessHandle::destroyForcibly);
      throw new IllegalStateException("interrupted while stopping chromium: killed it", e);
    } finally {
      deleteProfile();
    }
  }

  private void quit() throws InterruptedException {
    if (socket == null) {
      return;
    }
    try {
      browserCommand("Browser.close", params());
    } catch (IllegalStateException e) {
      // it may close the socket before it answers; the process check that follows is what counts
    }
    socket.abort();
  }

  private void awaitExit(List<ProcessHandle> helpers) throws InterruptedException {
    if (!process.waitFor(EXIT_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor(EXIT_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    }
    helpers.stream().filter(ProcessHandle::isAlive).forEach(ProcessHandle::destroyForcibly);
    List<ProcessHandle> left = new ArrayList<>();
    for (ProcessHandle h : helpers) {
      try {
        h.onExit().get(EXIT_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
      } catch (ExecutionException | TimeoutException e) {
        left.add(h);
      }
    }
    if (process.isAlive() || !left.isEmpty()) {
      throw new IllegalStateException(
          "chromium (pid " + process.pid() + ") or its helpers " + left + " did not exit");
    }
  }

  private void deleteProfile() {
    try (Stream<Path> files = Files.walk(profile)) {
      for (Path f : files.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(f);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("removing the browser profile " + profile, e);
    }
  }

  /** Reassembles each message from its frames and hands it on. */
  private final class Listener implements WebSocket.Listener {
    private final StringBuilder text = new StringBuilder();

    @Override
    public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
      text.append(data);
      if (last) {
        String whole = text.toString();
        text.setLength(0);
        try {
          onMessage(JSON.readTree(whole));
        } catch (IOException e) {
          problems.add(new Problem("devtools", "unreadable message: " + whole));
        }
      }
      ws.request(1);
      return null;
    }

    @Override
    public CompletionStage<?> onClose(WebSocket ws, int status, String reason) {
      failPending(new IllegalStateException("DevTools closed the connection: " + status));
      return null;
    }

    @Override
    public void onError(WebSocket ws, Throwable error) {
      failPending(error);
    }

    private void failPending(Throwable why) {
      pending.values().forEach(f -> f.completeExceptionally(why));
    }
  }
}
