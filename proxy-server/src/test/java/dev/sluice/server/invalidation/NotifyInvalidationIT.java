package dev.sluice.server.invalidation;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.Upstream;
import dev.sluice.config.UpstreamUrl;
import dev.sluice.server.invalidation.RecordingInvalidation.Event;
import dev.sluice.server.invalidation.RecordingInvalidation.Kind;
import dev.sluice.testing.PostgresExtension;
import dev.sluice.testing.PostgresServer;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** NOTIFY on a real server: payloads, transactions, a killed listener, close. */
@ExtendWith(PostgresExtension.class)
class NotifyInvalidationIT {
  private static final Duration WAIT = Duration.ofSeconds(10);
  private static final String CHANNEL = "sluice_it_cache";

  private final PostgresServer pg;
  private final Upstream upstream;
  private final RecordingInvalidation sink = new RecordingInvalidation();
  private NotifyInvalidation source;

  NotifyInvalidationIT(PostgresServer pg) {
    this.pg = pg;
    this.upstream =
        UpstreamUrl.parse("test", pg.uri(pg.appUser(), pg.appPassword(), pg.appDatabase()));
  }

  @AfterEach
  void close() {
    if (source != null) {
      source.close();
    }
  }

  /** Started, listening, and its subscription flush seen; returns the sink's index after it. */
  private int listening(String channel) throws InterruptedException {
    source = new NotifyInvalidation(upstream, channel, sink);
    source.start();
    await("listening", () -> source.status().state() == SourceState.STREAMING);
    return sink.size();
  }

  private static void await(String what, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (!condition.getAsBoolean()) {
      assertThat(System.nanoTime() - deadline).as("waiting for %s", what).isNegative();
      TimeUnit.MILLISECONDS.sleep(10);
    }
  }

  private static void execute(Connection c, String sql) throws Exception {
    try (Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }

  @Test
  void aPayloadNamesTablesAndAnEmptyOneTheWholeDatabase() throws Exception {
    int from = listening("Sluice_IT_Cache");
    assertThat(source.channel()).isEqualTo(CHANNEL);
    try (Connection c = pg.connectApp()) {
      execute(c, "NOTIFY " + CHANNEL + ", 'public.t'");
      Event e = sink.await(from, x -> x.kind() == Kind.TABLES, WAIT, "public.t");
      assertThat(e.database()).isEqualTo(pg.appDatabase());
      assertThat(e.tables()).containsExactly("public.t");

      from = sink.size();
      execute(c, "SELECT pg_notify('" + CHANNEL + "', 'Orders, \"Sales\".\"Q1\"')");
      e = sink.await(from, x -> x.kind() == Kind.TABLES, WAIT, "two tables");
      assertThat(e.tables()).containsExactly("orders", "Sales.Q1");

      from = sink.size();
      execute(c, "NOTIFY " + CHANNEL);
      e = sink.await(from, x -> true, WAIT, "a flush");
      assertThat(e.kind()).isEqualTo(Kind.DATABASE);
      assertThat(e.database()).isEqualTo(pg.appDatabase());

      from = sink.size();
      execute(c, "NOTIFY other_channel, 'public.t'");
      execute(c, "NOTIFY " + CHANNEL + ", 'after_other'");
      e = sink.await(from, x -> true, WAIT, "the next notification");
      assertThat(e.tables()).as("another channel is not heard").containsExactly("after_other");
    }
    assertThat(source.status().invalidations()).isEqualTo(4);
    assertThat(source.status().flushes()).as("subscription and empty payload").isEqualTo(2);
  }

  @Test
  void aNotificationArrivesWhenItsTransactionCommits() throws Exception {
    int from = listening(CHANNEL);
    try (Connection tx = pg.connectApp();
        Connection other = pg.connectApp()) {
      tx.setAutoCommit(false);
      execute(tx, "NOTIFY " + CHANNEL + ", 'in_tx'");
      execute(other, "NOTIFY " + CHANNEL + ", 'outside'");
      sink.await(from, x -> x.names("outside"), WAIT, "outside");
      assertThat(sink.since(from)).noneMatch(x -> x.names("in_tx"));
      tx.commit();
      sink.await(from, x -> x.names("in_tx"), WAIT, "in_tx after commit");
    }
  }

  @Test
  void aTerminatedListenerFlushesReconnectsAndHearsLaterNotifications() throws Exception {
    int from = listening(CHANNEL);
    assertThat(pg.terminateBackends(UpstreamJdbc.APPLICATION_NAME)).isEqualTo(1);
    sink.await(from, x -> x.kind() == Kind.DATABASE, WAIT, "the flush on loss");
    await("a reconnect", () -> source.status().reconnects() == 1);
    assertThat(source.status().state()).isEqualTo(SourceState.STREAMING);
    assertThat(source.status().lastError()).contains("57P01");
    assertThat(sink.since(from))
        .extracting(Event::kind)
        .as("flushed when lost and again when listening")
        .containsExactly(Kind.DATABASE, Kind.DATABASE);

    from = sink.size();
    try (Connection c = pg.connectApp()) {
      execute(c, "NOTIFY " + CHANNEL + ", 'later'");
    }
    assertThat(sink.await(from, x -> true, WAIT, "a later notification").tables())
        .isEqualTo(List.of("later"));
  }

  @Test
  void closeEndsTheSession() throws Exception {
    listening(CHANNEL);
    assertThat(pg.backendCount(UpstreamJdbc.APPLICATION_NAME)).isEqualTo(1);
    source.close();
    assertThat(source.status().state()).isEqualTo(SourceState.STOPPED);
    await("no listener", () -> pg.backendCount(UpstreamJdbc.APPLICATION_NAME) == 0);
  }
}
