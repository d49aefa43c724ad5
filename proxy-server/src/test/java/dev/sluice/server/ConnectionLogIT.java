package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.sluice.testing.PostgresExtension;
import dev.sluice.testing.PostgresServer;
import java.sql.Connection;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.slf4j.LoggerFactory;

/** Log lines say which connection they are about: id, role and database, a backend's pid. */
@ExtendWith(PostgresExtension.class)
class ConnectionLogIT {
  private final PostgresServer pg;

  ConnectionLogIT(PostgresServer pg) {
    this.pg = pg;
  }

  /** Keeps each event with its MDC as it was when logged (the MDC is read lazily otherwise). */
  private static final class Captured extends ListAppender<ILoggingEvent> {
    @Override
    protected void append(ILoggingEvent e) {
      e.prepareForDeferredProcessing();
      super.append(e);
    }

    List<ILoggingEvent> events() {
      synchronized (this) { // doAppend holds this lock while it appends
        return new ArrayList<>(list);
      }
    }
  }

  @Test
  void aBackendsLinesCarryItsPidAndAClientsItsRoleAndDatabase() throws Exception {
    Logger server = (Logger) LoggerFactory.getLogger(ServerConnection.class);
    Logger client = (Logger) LoggerFactory.getLogger(ClientConnection.class);
    Captured captured = new Captured();
    captured.start();
    server.addAppender(captured);
    client.addAppender(captured);
    server.setLevel(Level.DEBUG);
    client.setLevel(Level.DEBUG);
    try (TestSluice s = TestSluice.start(pg, b -> b.poolSize(1).minIdle(1))) {
      int pid;
      try (Connection c = s.connect();
          ResultSet rs = c.createStatement().executeQuery("SELECT pg_backend_pid()")) {
        rs.next();
        pid = rs.getInt(1);
      }

      ILoggingEvent backendLogin =
          find(captured, e -> e.getFormattedMessage().startsWith("logged in to "));
      assertThat(backendLogin.getLoggerName()).isEqualTo(ServerConnection.class.getName());
      assertThat(backendLogin.getMDCPropertyMap())
          .containsEntry("pid", Integer.toString(pid))
          .containsEntry("db", pg.appDatabase())
          .containsEntry("user", pg.appUser())
          .containsKey("conn");
      assertThat(backendLogin.getMDCPropertyMap().get("conn")).matches("s[0-9]+");

      ILoggingEvent clientLogin =
          find(captured, e -> e.getFormattedMessage().startsWith("client logged in to "));
      assertThat(clientLogin.getLoggerName()).isEqualTo(ClientConnection.class.getName());
      assertThat(clientLogin.getMDCPropertyMap())
          .containsEntry("db", pg.appDatabase())
          .containsEntry("user", pg.appUser())
          .doesNotContainKey("pid");
      assertThat(clientLogin.getMDCPropertyMap().get("conn")).matches("c[0-9]+");

      ILoggingEvent clientClosed =
          await(
              captured,
              e -> e.getFormattedMessage().startsWith("client closed (CLIENT_TERMINATE)"));
      assertThat(clientClosed.getMDCPropertyMap())
          .containsEntry("conn", clientLogin.getMDCPropertyMap().get("conn"))
          .containsEntry("db", pg.appDatabase())
          .containsEntry("user", pg.appUser());
    } finally {
      server.detachAppender(captured);
      client.detachAppender(captured);
      server.setLevel(null);
      client.setLevel(null);
    }
  }

  private static ILoggingEvent find(Captured captured, Predicate<ILoggingEvent> p) {
    List<ILoggingEvent> events = captured.events();
    return events.stream()
        .filter(p)
        .findFirst()
        .orElseThrow(() -> new AssertionError("no such line among " + messages(events)));
  }

  /** The client's close is logged on its event loop after the socket closes: wait for it. */
  private static ILoggingEvent await(Captured captured, Predicate<ILoggingEvent> p)
      throws InterruptedException {
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (true) {
      List<ILoggingEvent> events = captured.events();
      for (ILoggingEvent e : events) {
        if (p.test(e)) {
          return e;
        }
      }
      assertThat(System.nanoTime()).as("lines so far: %s", messages(events)).isLessThan(deadline);
      Thread.sleep(20);
    }
  }

  private static List<String> messages(List<ILoggingEvent> events) {
    return events.stream().map(ILoggingEvent::getFormattedMessage).toList();
  }
}
