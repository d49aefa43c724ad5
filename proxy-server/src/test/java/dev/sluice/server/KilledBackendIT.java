package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.PoolMode;
import dev.sluice.testing.PostgresExtension;
import dev.sluice.testing.PostgresServer;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.postgresql.PGConnection;

/**
 * A backend killed under one client (pg_terminate_backend, or SIGKILL of its process) while others
 * keep reading: the victim gets exactly one error of a connection class within a second, nobody
 * else sees any, and no backend is left idle in a transaction.
 */
@ExtendWith(PostgresExtension.class)
class KilledBackendIT {
  private static final int BYSTANDERS = 4;

  private final PostgresServer pg;
  private TestSluice sluice;
  private final AtomicBoolean stop = new AtomicBoolean();
  private final AtomicLong bystanderReads = new AtomicLong();
  private final Queue<Throwable> bystanderErrors = new ConcurrentLinkedQueue<>();
  private final List<Thread> bystanders = new ArrayList<>();

  KilledBackendIT(PostgresServer pg) {
    this.pg = pg;
  }

  @BeforeEach
  void start() throws Exception {
    try (Connection c = pg.connectApp();
        Statement st = c.createStatement()) {
      // The test server runs with synchronous_commit off; a SIGKILL's crash restart must not
      // lose the table.
      st.execute("SET synchronous_commit = on");
      st.execute("DROP TABLE IF EXISTS killed_rows");
      st.execute("CREATE TABLE killed_rows (v int, pad text)");
    }
    sluice = TestSluice.start(pg, b -> b.poolMode(PoolMode.TRANSACTION).poolSize(8).minIdle(2));
    for (int i = 0; i < BYSTANDERS; i++) {
      Thread t =
          new Thread(
              () -> {
                try (Connection c = sluice.connect();
                    Statement st = c.createStatement()) {
                  while (!stop.get()) {
                    try (ResultSet rs =
                        st.executeQuery("SELECT count(*) FROM generate_series(1, 1000)")) {
                      rs.next();
                      assertThat(rs.getInt(1)).isEqualTo(1000);
                    }
                    bystanderReads.incrementAndGet();
                  }
                } catch (Throwable e) {
                  bystanderErrors.add(e);
                }
              },
              "bystander-" + i);
      bystanders.add(t);
      t.start();
    }
    // Every bystander logged in and reading before anything is killed.
    awaitReads(50);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (sluice.server.loggedInClients() < BYSTANDERS) {
      assertThat(System.nanoTime() - deadline).as("bystanders logged in").isNegative();
      Thread.sleep(5);
    }
    awaitReads(50);
  }

  @AfterEach
  void stop() throws Exception {
    stop.set(true);
    for (Thread t : bystanders) {
      t.join(TimeUnit.SECONDS.toMillis(30));
      assertThat(t.isAlive()).as("%s finished", t.getName()).isFalse();
    }
    try {
      assertThat(bystanderErrors).as("errors seen by the other clients").isEmpty();
      assertThat(idleInTransaction()).as("backends left idle in transaction").isZero();
      assertThat(sluice.server.stats().bugs.sum()).isZero();
    } finally {
      sluice.close();
    }
  }

  private void awaitReads(long more) throws InterruptedException {
    long target = bystanderReads.get() + more;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (bystanderReads.get() < target && bystanderErrors.isEmpty()) {
      assertThat(System.nanoTime() - deadline).as("bystanders reading").isNegative();
      Thread.sleep(5);
    }
  }

  /** The pid of the backend whose current or last query carries {@code marker}. */
  private int backendOf(String marker) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (true) {
      try (Connection c = pg.connectSuper();
          ResultSet rs =
              c.createStatement()
                  .executeQuery(
                      "SELECT pid FROM pg_stat_activity WHERE query LIKE '%"
                          + marker
                          + "%' AND pid <> pg_backend_pid()")) {
        if (rs.next()) {
          return rs.getInt(1);
        }
      }
      assertThat(System.nanoTime() - deadline).as("backend running " + marker).isNegative();
      Thread.sleep(5);
    }
  }

  /** After a SIGKILL PostgreSQL resets every backend and recovers; wait until it takes logins. */
  private void awaitServerBack() throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (true) {
      try (Connection c = pg.connectSuper()) {
        return;
      } catch (SQLException e) {
        assertThat(System.nanoTime() - deadline).as("PostgreSQL back: " + e).isNegative();
        Thread.sleep(20);
      }
    }
  }

  private int idleInTransaction() throws SQLException {
    try (Connection c = pg.connectSuper();
        ResultSet rs =
            c.createStatement()
                .executeQuery(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = '"
                        + pg.appDatabase()
                        + "' AND state LIKE 'idle in transaction%'")) {
      rs.next();
      return rs.getInt(1);
    }
  }

  private void kill(int pid, String how) throws Exception {
    if (how.equals("terminate")) {
      try (Connection c = pg.connectSuper();
          ResultSet rs =
              c.createStatement().executeQuery("SELECT pg_terminate_backend(" + pid + ")")) {
        rs.next();
        assertThat(rs.getBoolean(1)).isTrue();
      }
    } else {
      ProcessHandle p = ProcessHandle.of(pid).orElseThrow();
      assertThat(p.destroyForcibly()).isTrue();
    }
  }

  /**
   * Runs {@code victim} on its own thread; once {@code marker} shows up in pg_stat_activity, kills
   * that backend and returns the victim's error and the milliseconds from kill to error.
   */
  private SQLException killUnder(String marker, String how, VictimWork victim) throws Exception {
    CompletableFuture<Long> failedAt = new CompletableFuture<>();
    Queue<SQLException> victimErrors = new ConcurrentLinkedQueue<>();
    Thread t =
        new Thread(
            () -> {
              try {
                victim.run();
                failedAt.completeExceptionally(new AssertionError("the victim saw no error"));
              } catch (SQLException e) {
                victimErrors.add(e);
                failedAt.complete(System.nanoTime());
              } catch (Throwable e) {
                failedAt.completeExceptionally(e);
              }
            },
            "victim");
    t.start();
    int pid = backendOf(marker);
    long killedAt = System.nanoTime();
    kill(pid, how);
    long errorAt = failedAt.get(30, TimeUnit.SECONDS);
    if (how.equals("sigkill")) {
      awaitServerBack();
    }
    t.join(TimeUnit.SECONDS.toMillis(10));
    assertThat(t.isAlive()).isFalse();
    assertThat(victimErrors).hasSize(1);
    SQLException e = victimErrors.peek();
    long millis = TimeUnit.NANOSECONDS.toMillis(errorAt - killedAt);
    assertThat(millis).as("ms from kill to the victim's error: %s", e).isLessThan(1000);
    assertThat(e.getSQLState()).as(e.toString()).matches("08...|57P0[1-3]");
    awaitReads(50);
    return e;
  }

  @FunctionalInterface
  interface VictimWork {
    void run() throws Exception;
  }

  /** A statement that writes cannot be sent again: its client hears of the loss. */
  @ParameterizedTest(name = "{0}")
  @CsvSource({"terminate", "sigkill"})
  void midQuery(String how) throws Exception {
    killUnder(
        "victim-query-" + how,
        how,
        () -> {
          try (Connection c = sluice.connect()) {
            c.createStatement()
                .execute(
                    "INSERT INTO killed_rows (v) SELECT 1 FROM pg_sleep(20) /* victim-query-"
                        + how
                        + " */");
          }
        });
  }

  /**
   * A read-only statement whose backend dies before any of its answer left PostgreSQL (which holds
   * a statement's first replies until it has more to say) runs again on another backend: its client
   * sees the result, not an error.
   */
  @Test
  void aReadOnlyStatementKilledBeforeAnsweringRunsAgain() throws Exception {
    CompletableFuture<Integer> result =
        CompletableFuture.supplyAsync(
            () -> {
              try (Connection c = sluice.connect();
                  ResultSet rs =
                      c.createStatement()
                          .executeQuery("SELECT 42 FROM pg_sleep(1) /* victim-replayed */")) {
                rs.next();
                return rs.getInt(1);
              } catch (SQLException e) {
                throw new IllegalStateException(e);
              }
            });
    long replaysBefore = sluice.server.stats().replays.sum();
    kill(backendOf("victim-replayed"), "sigkill");
    awaitServerBack();
    assertThat(result.get(30, TimeUnit.SECONDS)).isEqualTo(42);
    assertThat(sluice.server.stats().replays.sum()).isGreaterThan(replaysBefore);
    awaitReads(50);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"terminate", "sigkill"})
  void midTransaction(String how) throws Exception {
    CompletableFuture<Void> inTransaction = new CompletableFuture<>();
    CompletableFuture<Void> killed = new CompletableFuture<>();
    CompletableFuture<Void> victimDone = new CompletableFuture<>();
    killUnder(
        "victim-txn-" + how,
        how,
        () -> {
          try (Connection c = sluice.connect()) {
            c.setAutoCommit(false);
            c.createStatement()
                .execute("INSERT INTO killed_rows (v) VALUES (1) /* victim-txn-" + how + " */");
            inTransaction.complete(null);
            // Idle in transaction until the backend is gone; the next statement hears of it.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (backendAlive("victim-txn-" + how) && System.nanoTime() - deadline < 0) {
              Thread.sleep(5);
            }
            c.createStatement().execute("INSERT INTO killed_rows (v) VALUES (2)");
            c.commit();
          }
        });
    try (Connection c = pg.connectApp();
        ResultSet rs = c.createStatement().executeQuery("SELECT count(*) FROM killed_rows")) {
      rs.next();
      assertThat(rs.getInt(1)).as("nothing of the killed transaction committed").isZero();
    }
  }

  private boolean backendAlive(String marker) throws SQLException {
    try (Connection c = pg.connectSuper();
        ResultSet rs =
            c.createStatement()
                .executeQuery(
                    "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%"
                        + marker
                        + "%' AND pid <> pg_backend_pid()")) {
      rs.next();
      return rs.getInt(1) > 0;
    }
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"terminate", "sigkill"})
  void midCopy(String how) throws Exception {
    killUnder(
        "killed_rows FROM STDIN",
        how,
        () -> {
          try (Connection c = sluice.connect()) {
            ((PGConnection) c).getCopyAPI().copyIn("COPY killed_rows FROM STDIN", new SlowRows());
          }
        });
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"terminate", "sigkill"})
  void midLargeResult(String how) throws Exception {
    killUnder(
        "victim-result-" + how,
        how,
        () -> {
          try (Connection c = sluice.connect()) {
            c.setAutoCommit(false);
            try (Statement st = c.createStatement()) {
              st.setFetchSize(1000);
              try (ResultSet rs =
                  st.executeQuery(
                      "SELECT g, repeat('x', 200) FROM generate_series(1, 10000000) g"
                          + " /* victim-result-"
                          + how
                          + " */")) {
                while (rs.next()) {
                  if (rs.getInt(1) % 1000 == 0) {
                    Thread.sleep(1);
                  }
                }
              }
            }
          }
        });
  }

  /**
   * COPY rows that keep coming, a 100-byte row per millisecond, until the copy fails: the driver
   * flushes every 8 kB or so, so a lost backend is noticed within about 100 ms of writing.
   */
  private static final class SlowRows extends InputStream {
    private static final byte[] PAD = "x".repeat(90).getBytes(StandardCharsets.US_ASCII);
    private int n;

    @Override
    public int read() {
      throw new UnsupportedOperationException("read in rows");
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      try {
        Thread.sleep(1);
      } catch (InterruptedException e) {
        throw new IOException(e);
      }
      if (n++ > 10_000_000) {
        return -1;
      }
      byte[] row =
          ((n % 100_000) + "\t" + new String(PAD, StandardCharsets.US_ASCII) + "\n")
              .getBytes(StandardCharsets.US_ASCII);
      int k = Math.min(len, row.length);
      System.arraycopy(row, 0, b, off, k);
      return k;
    }
  }
}
