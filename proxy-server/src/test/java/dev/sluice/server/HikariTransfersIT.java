package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.sluice.config.PoolMode;
import dev.sluice.testing.PostgresExtension;
import dev.sluice.testing.PostgresServer;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Many application threads behind HikariCP, many Hikari connections in front of a small Sluice
 * pool: money moves between accounts in short transactions while the number of real PostgreSQL
 * backends stays within Sluice's pool size.
 */
@ExtendWith(PostgresExtension.class)
class HikariTransfersIT {
  private static final int SLUICE_POOL_SIZE = 10;
  private static final int HIKARI_POOL_SIZE = 100;
  private static final int THREADS = 200;
  private static final int TRANSFERS_PER_THREAD = 25;
  private static final int ACCOUNTS = 100;
  private static final long INITIAL_BALANCE = 10_000;
  private static final long SAMPLE_EVERY_MS = 50;

  /** Retried as an application would: serialization failure and deadlock. */
  private static final List<String> RETRYABLE = List.of("40001", "40P01");

  @Test
  void transfersKeepTheTotalAndNeverExceedThePool(PostgresServer pg) throws Exception {
    createAccounts(pg);
    // From here until the sampler stops, the test itself holds no connection to the app
    // database: every client backend counted there belongs to Sluice.
    awaitNoAppBackends(pg);

    AtomicInteger maxBackends = new AtomicInteger();
    AtomicInteger samples = new AtomicInteger();
    List<Throwable> failures = Collections.synchronizedList(new ArrayList<>());
    AtomicInteger completedThreads = new AtomicInteger();
    AtomicLong transfers = new AtomicLong();
    AtomicLong retries = new AtomicLong();
    AtomicLong elapsedMs = new AtomicLong();

    try (TestSluice sluice =
            TestSluice.start(pg, b -> b.poolMode(PoolMode.TRANSACTION).poolSize(SLUICE_POOL_SIZE));
        HikariDataSource hikari = hikari(pg, sluice)) {
      AtomicBoolean sampling = new AtomicBoolean(true);
      Thread sampler =
          new Thread(
              () -> sampleBackends(pg, sampling, maxBackends, samples, failures),
              "backend-sampler");
      sampler.setDaemon(true);
      sampler.start();

      CountDownLatch go = new CountDownLatch(1);
      List<Thread> workers = new ArrayList<>();
      for (int t = 0; t < THREADS; t++) {
        Thread w =
            new Thread(
                () -> {
                  try {
                    go.await();
                    for (int i = 0; i < TRANSFERS_PER_THREAD; i++) {
                      retries.addAndGet(transferOnce(hikari));
                      transfers.incrementAndGet();
                    }
                    completedThreads.incrementAndGet();
                  } catch (Throwable e) {
                    failures.add(e);
                  }
                },
                "transfer-" + t);
        w.setDaemon(true);
        workers.add(w);
        w.start();
      }
      long started = System.nanoTime();
      long deadline = started + TimeUnit.SECONDS.toNanos(120);
      go.countDown();
      try {
        for (Thread w : workers) {
          w.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
          assertThat(w.isAlive()).as(w.getName() + " finished within 120 s").isFalse();
        }
        elapsedMs.set(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
      } finally {
        sampling.set(false);
        sampler.join();
      }
    }

    assertThat(failures).as("unexpected errors").isEmpty();
    assertThat(completedThreads).hasValue(THREADS);
    assertThat(transfers).hasValue((long) THREADS * TRANSFERS_PER_THREAD);
    assertThat(samples.get()).as("backend samples taken").isGreaterThanOrEqualTo(10);
    // The monitor sees Sluice's backends at all, and they never exceed its pool size.
    assertThat(maxBackends.get()).isBetween(1, SLUICE_POOL_SIZE);

    try (Connection c = pg.connectApp();
        Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT sum(balance), count(*) FROM transfer_accounts")) {
      rs.next();
      assertThat(rs.getLong(1))
          .as("money is neither made nor lost")
          .isEqualTo(ACCOUNTS * INITIAL_BALANCE);
      assertThat(rs.getInt(2)).isEqualTo(ACCOUNTS);
    }
    try (Connection c = pg.connectApp();
        Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT count(*) FROM transfer_log")) {
      rs.next();
      assertThat(rs.getLong(1)).as("one committed log row per transfer").isEqualTo(transfers.get());
    }
    System.err.printf(
        "HikariTransfersIT: %d transfers in %d ms, %d retries, max %d backends in %d samples%n",
        transfers.get(), elapsedMs.get(), retries.get(), maxBackends.get(), samples.get());
  }

  private static void createAccounts(PostgresServer pg) throws SQLException {
    try (Connection c = pg.connectApp();
        Statement st = c.createStatement()) {
      st.execute("DROP TABLE IF EXISTS transfer_accounts, transfer_log");
      st.execute("CREATE TABLE transfer_accounts (id int PRIMARY KEY, balance bigint NOT NULL)");
      st.execute("CREATE TABLE transfer_log (from_id int, to_id int, amount bigint)");
      st.execute(
          "INSERT INTO transfer_accounts SELECT g, "
              + INITIAL_BALANCE
              + " FROM generate_series(1, "
              + ACCOUNTS
              + ") g");
    }
  }

  private static HikariDataSource hikari(PostgresServer pg, TestSluice sluice) {
    HikariConfig cfg = new HikariConfig();
    cfg.setJdbcUrl(sluice.jdbcUrl());
    cfg.setUsername(pg.appUser());
    cfg.setPassword(pg.appPassword());
    cfg.setMaximumPoolSize(HIKARI_POOL_SIZE);
    cfg.setConnectionTimeout(60_000);
    cfg.setPoolName("transfers");
    // pgjdbc's defaults: after five uses a statement becomes a named server-side one, which
    // Sluice maps across backends.
    return new HikariDataSource(cfg);
  }

  /**
   * Moves a random amount between two distinct random accounts in one transaction, updating the
   * lower id first so that concurrent transfers lock rows in the same order. Returns how many times
   * it had to retry.
   */
  private static int transferOnce(HikariDataSource hikari) throws SQLException {
    ThreadLocalRandom rnd = ThreadLocalRandom.current();
    int from = 1 + rnd.nextInt(ACCOUNTS);
    int to = 1 + rnd.nextInt(ACCOUNTS - 1);
    if (to >= from) {
      to++;
    }
    long amount = 1 + rnd.nextInt(100);
    for (int attempt = 0; ; attempt++) {
      try (Connection c = hikari.getConnection()) {
        c.setAutoCommit(false);
        try {
          move(c, Math.min(from, to), from < to ? -amount : amount);
          move(c, Math.max(from, to), from < to ? amount : -amount);
          try (PreparedStatement log =
              c.prepareStatement("INSERT INTO transfer_log VALUES (?, ?, ?)")) {
            log.setInt(1, from);
            log.setInt(2, to);
            log.setLong(3, amount);
            log.executeUpdate();
          }
          c.commit();
          return attempt;
        } catch (SQLException e) {
          c.rollback();
          if (!RETRYABLE.contains(e.getSQLState()) || attempt >= 5) {
            throw e;
          }
        }
      }
    }
  }

  private static void move(Connection c, int account, long delta) throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement("UPDATE transfer_accounts SET balance = balance + ? WHERE id = ?")) {
      ps.setLong(1, delta);
      ps.setInt(2, account);
      assertThat(ps.executeUpdate()).isEqualTo(1);
    }
  }

  private static String describeBackends(PostgresServer pg) {
    try (Connection su = pg.connectSuper();
        ResultSet rs =
            su.createStatement()
                .executeQuery(
                    "SELECT pid, application_name, state, wait_event, backend_start, left(query, 80)"
                        + " FROM pg_stat_activity WHERE datname = '"
                        + pg.appDatabase()
                        + "' AND backend_type = 'client backend'")) {
      StringBuilder sb = new StringBuilder();
      while (rs.next()) {
        for (int i = 1; i <= 6; i++) {
          sb.append(i == 1 ? "[" : " | ").append(rs.getString(i));
        }
        sb.append("] ");
      }
      return sb.toString();
    } catch (SQLException e) {
      return e.toString();
    }
  }

  /** Backends of earlier tests (or of the setup above) may take a moment to exit. */
  private static void awaitNoAppBackends(PostgresServer pg) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (pg.backendCount(null) > 0 && System.nanoTime() < deadline) {
      Thread.sleep(50);
    }
    assertThat(pg.backendCount(null))
        .as("app-database backends before Sluice starts: %s", describeBackends(pg))
        .isZero();
  }

  /**
   * Counts client backends in the app database every {@value #SAMPLE_EVERY_MS} ms, through the
   * harness's superuser connection (to its own database, so never counted itself).
   */
  private static void sampleBackends(
      PostgresServer pg,
      AtomicBoolean sampling,
      AtomicInteger max,
      AtomicInteger samples,
      List<Throwable> failures) {
    try {
      while (sampling.get()) {
        max.accumulateAndGet(pg.backendCount(null), Math::max);
        samples.incrementAndGet();
        Thread.sleep(SAMPLE_EVERY_MS);
      }
    } catch (Throwable e) {
      failures.add(e);
    }
  }
}
