package dev.sluice.cli;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.OutputStreamAppender;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sluice.logging.ConnLog;
import dev.sluice.logging.LogContext;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

class LoggingTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** An appender like the shipped STDERR one, writing text lines to memory. */
  private static OutputStreamAppender<ILoggingEvent> textAppender(
      LoggerContext context, ByteArrayOutputStream out) {
    PatternLayoutEncoder text = new PatternLayoutEncoder();
    text.setContext(context);
    text.setPattern("%-5level %logger{0} - %msg%n");
    text.start();
    OutputStreamAppender<ILoggingEvent> appender = new OutputStreamAppender<>();
    appender.setName(Logging.APPENDER);
    appender.setContext(context);
    appender.setEncoder(text);
    appender.setOutputStream(out);
    appender.start();
    return appender;
  }

  /** A Logback context of the test's own, sharing the process's MDC. */
  private static LoggerContext freshContext() {
    LoggerContext context = new LoggerContext();
    context.setMDCAdapter(MDC.getMDCAdapter());
    context.start();
    return context;
  }

  private static List<JsonNode> jsonLines(ByteArrayOutputStream out) throws IOException {
    List<JsonNode> lines = new ArrayList<>();
    for (String line : out.toString(StandardCharsets.UTF_8).split("\n")) {
      lines.add(JSON.readTree(line)); // throws unless each line is one JSON document
    }
    return lines;
  }

  @Test
  void jsonIsOneObjectPerLineWithLevelMessageAndTheConnectionId() throws IOException {
    LoggerContext context = freshContext();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    context.getLogger(Logger.ROOT_LOGGER_NAME).addAppender(textAppender(context, out));

    Logging.configure(context, LogLevel.INFO, LogFormat.JSON);
    Logger log = context.getLogger("dev.sluice.server.ClientConnection");
    MDC.put("conn", "c17");
    try {
      log.info("client closed: {}", "the client's Terminate");
      log.debug("not at info");
    } finally {
      MDC.remove("conn");
    }
    log.warn("upstream unavailable", new IllegalStateException("connection refused\nsecond line"));

    List<JsonNode> lines = jsonLines(out);
    assertThat(lines).hasSize(2);
    JsonNode first = lines.get(0);
    assertThat(first.get("message").asText()).isEqualTo("client closed: the client's Terminate");
    assertThat(first.get("level").asText()).isEqualTo("INFO");
    assertThat(first.get("conn").asText()).isEqualTo("c17");
    assertThat(first.get("logger_name").asText()).isEqualTo("dev.sluice.server.ClientConnection");
    assertThat(first.has("@timestamp")).isTrue();
    JsonNode second = lines.get(1);
    assertThat(second.get("level").asText()).isEqualTo("WARN");
    assertThat(second.has("conn")).isFalse();
    assertThat(second.get("stack_trace").asText()).contains("connection refused\nsecond line");
  }

  /** The shipped layout, from the logback.xml inside the jar. */
  private static String shippedPattern() throws IOException {
    String xml = Files.readString(Path.of("src", "main", "resources", "logback.xml"));
    Matcher m = Pattern.compile("<pattern>(.*)</pattern>").matcher(xml);
    assertThat(m.find()).isTrue();
    return m.group(1).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&");
  }

  @Test
  void theShippedTextLayoutNamesTheConnectionItsRoleDatabaseAndPid() throws IOException {
    LoggerContext context = freshContext();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    OutputStreamAppender<ILoggingEvent> appender = textAppender(context, out);
    PatternLayoutEncoder shipped = new PatternLayoutEncoder();
    shipped.setContext(context);
    shipped.setPattern(shippedPattern());
    shipped.start();
    appender.setEncoder(shipped);
    context.getLogger(Logger.ROOT_LOGGER_NAME).addAppender(appender);
    Logging.configure(context, LogLevel.INFO, LogFormat.TEXT);

    LogContext backend = LogContext.of("s4").identify("shop", "app");
    backend.backendPid(4242);
    ConnLog.info(context.getLogger("dev.sluice.server.ServerConnection"), backend, "logged in");
    ConnLog.info(
        context.getLogger("dev.sluice.server.ClientConnection"),
        LogContext.of("c17").identify("shop", "app"),
        "client closed");
    ConnLog.info(context.getLogger("dev.sluice.server.ClientConnection"), "c18", "bad startup");
    context.getLogger("dev.sluice.cli.RunCommand").info("listening");

    List<String> lines = List.of(out.toString(StandardCharsets.UTF_8).split("\n"));
    assertThat(lines).hasSize(4);
    assertThat(lines.get(0)).endsWith(" ServerConnection [s4 app@shop pid=4242] - logged in");
    assertThat(lines.get(1)).endsWith(" ClientConnection [c17 app@shop] - client closed");
    assertThat(lines.get(2)).endsWith(" ClientConnection [c18] - bad startup");
    assertThat(lines.get(3)).endsWith(" RunCommand - listening");
  }

  @Test
  void jsonCarriesTheConnectionsRoleDatabaseAndPidAsFields() throws IOException {
    LoggerContext context = freshContext();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    context.getLogger(Logger.ROOT_LOGGER_NAME).addAppender(textAppender(context, out));
    Logging.configure(context, LogLevel.INFO, LogFormat.JSON);

    LogContext backend = LogContext.of("s4").identify("shop", "app");
    backend.backendPid(4242);
    ConnLog.info(context.getLogger("dev.sluice.server.ServerConnection"), backend, "logged in");
    ConnLog.info(
        context.getLogger("dev.sluice.server.ClientConnection"),
        LogContext.of("c17").identify("shop", "app"),
        "client closed");

    List<JsonNode> lines = jsonLines(out);
    assertThat(lines).hasSize(2);
    assertThat(lines.get(0).get("conn").asText()).isEqualTo("s4");
    assertThat(lines.get(0).get("db").asText()).isEqualTo("shop");
    assertThat(lines.get(0).get("user").asText()).isEqualTo("app");
    assertThat(lines.get(0).get("pid").asText()).isEqualTo("4242");
    assertThat(lines.get(1).get("conn").asText()).isEqualTo("c17");
    assertThat(lines.get(1).get("user").asText()).isEqualTo("app");
    assertThat(lines.get(1).has("pid")).isFalse();
    assertThat(MDC.getCopyOfContextMap()).as("nothing left behind in the MDC").isNullOrEmpty();
  }

  @Test
  void textKeepsTheConfiguredLayout() {
    LoggerContext context = freshContext();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    context.getLogger(Logger.ROOT_LOGGER_NAME).addAppender(textAppender(context, out));

    Logging.configure(context, LogLevel.DEBUG, LogFormat.TEXT);
    context.getLogger("dev.sluice.cli.RunCommand").debug("hello");

    assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo("DEBUG RunCommand - hello\n");
  }

  /**
   * {@code sluice run} with a real server (no database behind it: the warm-up connects are
   * refused), at DEBUG in JSON: every startup line is JSON and none carries the upstream's
   * password.
   */
  @Test
  void runStartupLinesAreJsonAndNeverShowThePassword() throws Exception {
    int closedPort;
    try (ServerSocket probe = new ServerSocket(0)) {
      closedPort = probe.getLocalPort();
    }
    LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
    ch.qos.logback.classic.Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
    Level level = root.getLevel();
    Appender<ILoggingEvent> shipped = root.getAppender(Logging.APPENDER);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    root.detachAppender(Logging.APPENDER);
    root.addAppender(textAppender(context, out));
    Cli.Result r;
    try {
      r =
          Cli.run(
              Map.of(
                  "DATABASE_URL",
                  "postgres://app:hunter2-not-logged@127.0.0.1:" + closedPort + "/app"),
              LoggingTest::startBriefly,
              "run",
              "--listen=127.0.0.1:0",
              "--admin-listen=off",
              "--min-idle=1",
              "--connect-retries=0",
              "--workers=1",
              "--log-level=debug",
              "--log-format=json");
    } finally {
      root.detachAppender(Logging.APPENDER);
      if (shipped != null) {
        root.addAppender(shipped);
      }
      root.setLevel(level);
    }

    assertThat(r.status()).as(r.err()).isZero();
    String logged = out.toString(StandardCharsets.UTF_8);
    assertThat(logged).doesNotContain("hunter2");
    List<JsonNode> lines = jsonLines(out);
    assertThat(lines)
        .anySatisfy(
            l -> {
              assertThat(l.get("level").asText()).isEqualTo("INFO");
              assertThat(l.get("message").asText())
                  .startsWith("sluice listening on 127.0.0.1:")
                  .contains("upstream postgres://app:****@127.0.0.1:" + closedPort + "/app");
            });
  }

  /** Starts the real server, lets its warm-up connects fail, stops it, reports it stopped. */
  private static Launcher.Running startBriefly(dev.sluice.config.ProxyConfig config) {
    Launcher.Running server = Launcher.sluiceServer().start(config);
    InetSocketAddress address = server.localAddress();
    try {
      Thread.sleep(300);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    server.close();
    return new Launcher.Running() {
      @Override
      public InetSocketAddress localAddress() {
        return address;
      }

      @Override
      public void awaitTermination() {}

      @Override
      public void close() {}
    };
  }
}
