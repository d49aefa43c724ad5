package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.sluice.config.PoolMode;
import dev.sluice.testing.PostgresExtension;
import dev.sluice.testing.PostgresServer;
import java.io.IOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.slf4j.LoggerFactory;

/**
 * PostgreSQL restarts again and again under clients that never stop sending: simple and extended
 * protocol through pgjdbc, and pipelined batches through a raw protocol client. However a restart
 * catches a request (waiting for a backend, in flight, during the backend's login), the request
 * ends with a result or an error within {@code --acquire-timeout} plus one second; none is lost.
 */
@ExtendWith(PostgresExtension.class)
class RestartStressIT {
  private static final int CLIENTS = 20;
  private static final int RESTARTS = 20;
  private static final Duration ACQUIRE_TIMEOUT = Duration.ofSeconds(3);

  /** One request (one ReadyForQuery owed), as Sluice sees it: answered within this. */
  private static final long BOUND_NANOS = ACQUIRE_TIMEOUT.plusSeconds(1).toNanos();

  /**
   * One client operation: pgjdbc may spend two round trips on a statement (a Describe to learn
   * parameter types, then the execution), each of which may wait for a backend.
   */
  private static final long OPERATION_BOUND_NANOS =
      ACQUIRE_TIMEOUT.multipliedBy(2).plusSeconds(1).toNanos();

  private final PostgresServer pg;

  RestartStressIT(PostgresServer pg) {
    this.pg = pg;
  }

  /** One client's loop; {@link #since} is when its unanswered request was sent, 0 when none. */
  private abstract static class Worker implements Runnable {
    final String name;
    final long boundNanos;
    final AtomicLong since = new AtomicLong();
    final AtomicLong successes = new AtomicLong();
    final AtomicLong errors = new AtomicLong();
    volatile long slowestNanos;
    volatile String slowest = "";
    final AtomicBoolean stop;
    final ConcurrentLinkedQueue<String> unexpected;

    Worker(
        String name,
        long boundNanos,
        AtomicBoolean stop,
        ConcurrentLinkedQueue<String> unexpected) {
      this.name = name;
      this.boundNanos = boundNanos;
      this.stop = stop;
      this.unexpected = unexpected;
    }

    /** One request, answered or failed; returns false when the connection must be opened anew. */
    abstract boolean request(long n) throws Exception;

    abstract void reset();

    @Override
    public void run() {
      long n = 0;
      while (!stop.get()) {
        n++;
        long start = System.nanoTime();
        since.set(start);
        boolean ok;
        String what;
        try {
          ok = request(n);
          what = "ok";
        } catch (SQLException e) {
          ok = false;
          what = e.getSQLState() + " " + e.getMessage();
          if (!isExpected(e.getSQLState())) {
            unexpected.add(name + ": " + what);
          }
        } catch (Exception e) {
          ok = false;
          what = e.toString();
        }
        long took = System.nanoTime() - start;
        since.set(0);
        if (took > slowestNanos) {
          slowestNanos = took;
          slowest = what;
        }
        if (ok) {
          successes.incrementAndGet();
        } else {
          errors.incrementAndGet();
          reset();
          // A failed request or login: do not spin while the server is down.
          sleepQuietly();
        }
      }
      reset();
    }

    /** What a restart may legitimately cause. */
    private static boolean isExpected(String state) {
      return state == null
          || state.startsWith("08")
          || state.startsWith("57P")
          || state.equals("53300");
    }

    private static void sleepQuietly() {
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** pgjdbc, one statement per request; simple or extended protocol. */
  private final class JdbcWorker extends Worker {
    private final TestSluice sluice;
    private final boolean simple;
    private Connection c;

    JdbcWorker(
        String name,
        TestSluice sluice,
        boolean simple,
        AtomicBoolean stop,
        ConcurrentLinkedQueue<String> unexpected) {
      super(name, OPERATION_BOUND_NANOS, stop, unexpected);
      this.sluice = sluice;
      this.simple = simple;
    }

    @Override
    boolean request(long n) throws SQLException {
      if (c == null) {
        c =
            sluice.connect(
                TestSluice.props(
                    "preferQueryMode",
                    simple ? "simple" : "extended",
                    "prepareThreshold",
                    "1",
                    "socketTimeout",
                    "60"));
      }
      if (n % 7 == 0 && !simple) {
        // pgjdbc pipelines a batch: Parse/Bind/Execute for each, one Sync
        try (PreparedStatement ps = c.prepareStatement("SELECT set_config('sluice.x', ?, true)")) {
          for (int i = 0; i < 3; i++) {
            ps.setString(1, Long.toString(n + i));
            ps.addBatch();
          }
          ps.executeBatch();
          return true;
        } catch (java.sql.BatchUpdateException e) {
          // a SELECT in a batch returns a result pgjdbc refuses; that is an answer too
          if ("0100E".equals(e.getSQLState()) || e.getSQLState() == null) {
            return true;
          }
          throw e;
        }
      }
      try (PreparedStatement ps = c.prepareStatement("SELECT ?::bigint")) {
        ps.setLong(1, n);
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          assertThat(rs.getLong(1)).isEqualTo(n);
        }
      }
      return true;
    }

    @Override
    void reset() {
      if (c != null) {
        try {
          c.close();
        } catch (SQLException e) {
          // already broken
        }
        c = null;
      }
    }
  }

  /**
   * A raw protocol client that sends two requests before reading any answer: two simple Query
   * messages, or two extended-protocol batches each ending in Sync.
   */
  private final class PipelineWorker extends Worker {
    private final TestSluice sluice;
    private final boolean simple;
    private RawClient c;

    PipelineWorker(
        String name,
        TestSluice sluice,
        boolean simple,
        AtomicBoolean stop,
        ConcurrentLinkedQueue<String> unexpected) {
      // every request of its pipeline goes to one backend, so it waits for one at most once
      super(name, BOUND_NANOS, stop, unexpected);
      this.sluice = sluice;
      this.simple = simple;
    }

    @Override
    boolean request(long n) throws IOException, SQLException {
      if (c == null) {
        c = RawClient.connect(sluice, pg);
      }
      List<String> seen = new ArrayList<>();
      if (simple) {
        c.addQuery("SELECT " + n);
        c.query("SELECT 1; SELECT 2");
        seen.addAll(c.readUntilReady());
        seen.addAll(c.readUntilReady());
      } else {
        c.parse("", "SELECT " + n);
        c.bind("", "");
        c.execute("");
        c.sync();
        c.parse("", "SELECT 2");
        c.bind("", "");
        c.execute("");
        c.sync();
        seen.addAll(c.readUntilReady());
        seen.addAll(c.readUntilReady());
      }
      for (String s : seen) {
        if (s.startsWith("E:")) {
          throw new SQLException("error in pipeline: " + seen, s.substring(2));
        }
      }
      return true;
    }

    @Override
    void reset() {
      if (c != null) {
        try {
          c.close();
        } catch (IOException e) {
          // already broken
        }
        c = null;
      }
    }
  }

  @Test
  void restartsUnderLoadLeaveNoRequestUnanswered() throws Exception {
    Assumptions.assumeTrue(pg.managed(), "needs a server the tests own");
    AtomicBoolean stop = new AtomicBoolean();
    ConcurrentLinkedQueue<String> unexpected = new ConcurrentLinkedQueue<>();
    List<String> hangs = new ArrayList<>();
    Logger sluiceLog = (Logger) LoggerFactory.getLogger("dev.sluice");
    ListAppender<ILoggingEvent> lines = new ListAppender<>();
    lines.start();
    sluiceLog.addAppender(lines);
    try (TestSluice s =
        TestSluice.start(
            pg,
            b ->
                b.poolMode(PoolMode.TRANSACTION)
                    .poolSize(8)
                    .minIdle(2)
                    .acquireTimeout(ACQUIRE_TIMEOUT)
                    .connectTimeout(Duration.ofSeconds(2)))) {
      List<Worker> workers = new ArrayList<>();
      for (int i = 0; i < CLIENTS; i++) {
        workers.add(
            switch (i % 4) {
              case 0 -> new JdbcWorker("simple-" + i, s, true, stop, unexpected);
              case 1 -> new JdbcWorker("extended-" + i, s, false, stop, unexpected);
              case 2 -> new PipelineWorker("pipelined-simple-" + i, s, true, stop, unexpected);
              default -> new PipelineWorker("pipelined-extended-" + i, s, false, stop, unexpected);
            });
      }
      List<Thread> threads = new ArrayList<>();
      for (Worker w : workers) {
        Thread t = new Thread(w, "stress-" + w.name);
        t.setDaemon(true);
        threads.add(t);
        t.start();
      }
      for (int round = 0; round < RESTARTS; round++) {
        awaitEveryoneServed(s, workers, hangs);
        pg.restart();
      }
      awaitEveryoneServed(s, workers, hangs);
      stop.set(true);
      long deadline = System.nanoTime() + OPERATION_BOUND_NANOS + 2_000_000_000L;
      for (Thread t : threads) {
        t.join(Math.max(1, (deadline - System.nanoTime()) / 1_000_000));
      }
      for (int i = 0; i < threads.size(); i++) {
        assertThat(threads.get(i).isAlive())
            .as("%s still waiting for an answer after the load stopped", workers.get(i).name)
            .isFalse();
      }
      long served = workers.stream().mapToLong(w -> w.successes.get()).sum();
      long failed = workers.stream().mapToLong(w -> w.errors.get()).sum();
      assertThat(hangs).as("requests unanswered beyond the bound").isEmpty();
      for (Worker w : workers) {
        assertThat(w.slowestNanos)
            .as("%s's slowest request (%s)", w.name, w.slowest)
            .isLessThanOrEqualTo(w.boundNanos);
      }
      assertThat(unexpected).as("errors a restart should not cause").isEmpty();
      assertThat(s.server.stats().bugs.sum()).as("broken invariants").isZero();
      assertThat(served).isGreaterThan(RESTARTS * CLIENTS);
      // Repeated events (clients losing their backend, connects refused, idle backends told
      // to go) are summed up, not written once each.
      long logged =
          lines.list.stream().filter(e -> e.getLevel().isGreaterOrEqual(Level.INFO)).count();
      System.out.printf(
          "RestartStressIT: %d restarts, %d requests answered, %d failed cleanly, %d log lines%n",
          RESTARTS, served, failed, logged);
      assertThat(logged)
          .as("log lines for %d restarts", RESTARTS)
          .isLessThanOrEqualTo(2 * RESTARTS);
    } finally {
      stop.set(true);
      sluiceLog.detachAppender(lines);
    }
  }

  /**
   * Waits until every worker has been answered successfully again since this call, checking all the
   * while that no request stays unanswered beyond the bound.
   */
  private static void awaitEveryoneServed(TestSluice s, List<Worker> workers, List<String> hangs)
      throws InterruptedException {
    long[] before = workers.stream().mapToLong(w -> w.successes.get()).toArray();
    long deadline = System.nanoTime() + 60_000_000_000L;
    long nextServerCheck = 0;
    while (true) {
      long now = System.nanoTime();
      if (now - nextServerCheck >= 0) {
        // Sluice's own view, per request: nothing owed without progress beyond the bound
        hangs.addAll(s.server.stalledClients(Duration.ofNanos(BOUND_NANOS)));
        assertThat(hangs).as("requests unanswered beyond the bound").isEmpty();
        nextServerCheck = now + 250_000_000L;
      }
      boolean all = true;
      for (int i = 0; i < workers.size(); i++) {
        Worker w = workers.get(i);
        long since = w.since.get();
        if (since != 0 && now - since > w.boundNanos) {
          hangs.add(w.name + " waiting " + (now - since) / 1_000_000 + " ms");
          hangs.addAll(s.server.stalledClients(Duration.ofMillis(500)));
          assertThat(hangs).as("requests unanswered beyond the bound").isEmpty();
        }
        all &= w.successes.get() > before[i];
      }
      if (all) {
        return;
      }
      assertThat(now).as("every client served again within 60 s").isLessThan(deadline);
      Thread.sleep(10);
    }
  }
}
