package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.sluice.config.PoolMode;
import dev.sluice.testing.PostgresExtension;
import dev.sluice.testing.PostgresServer;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Locale;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.postgresql.util.PSQLException;

/** Statement.cancel() reaches the backend serving that client, and only that one. */
@ExtendWith(PostgresExtension.class)
class CancelIT {
  private static final long WAIT_NANOS = TimeUnit.SECONDS.toNanos(10);

  private final PostgresServer pg;

  CancelIT(PostgresServer pg) {
    this.pg = pg;
  }

  @ParameterizedTest
  @EnumSource(PoolMode.class)
  void cancelStopsThePgSleepWithin1sAndOtherClientsAreUnaffected(PoolMode mode) throws Exception {
    ExecutorService workers = Executors.newFixedThreadPool(2);
    try (TestSluice s = TestSluice.start(pg, b -> b.poolMode(mode).poolSize(4));
        Connection victim = s.connect();
        Connection other = s.connect()) {
      AtomicBoolean stopOther = new AtomicBoolean();
      AtomicInteger otherQueries = new AtomicInteger();
      Future<?> otherWork =
          workers.submit(
              () -> {
                try (Statement st = other.createStatement()) {
                  while (!stopOther.get()) {
                    ResultSet rs = st.executeQuery("SELECT pg_sleep(0.01), 7");
                    rs.next();
                    assertThat(rs.getInt(2)).isEqualTo(7);
                    otherQueries.incrementAndGet();
                  }
                }
                return null;
              });
      // named per run, so that pg_stat_activity shows this victim's query and no other
      String victimSql =
          "SELECT pg_sleep(30) AS cancel_victim_" + mode.name().toLowerCase(Locale.ROOT);
      Statement st = victim.createStatement();
      Future<?> victimQuery = workers.submit(() -> st.executeQuery(victimSql));

      awaitActive(victimSql);
      int otherBeforeCancel = otherQueries.get();
      long t0 = System.nanoTime();
      st.cancel();
      ExecutionException failed =
          catchThrowableOfType(
              ExecutionException.class, () -> victimQuery.get(10, TimeUnit.SECONDS));
      long tookMs = (System.nanoTime() - t0) / 1_000_000;
      assertThat(failed).as("the victim's pg_sleep(30) failed").isNotNull();
      assertThat(failed.getCause())
          .isInstanceOf(PSQLException.class)
          .satisfies(e -> assertThat(((PSQLException) e).getSQLState()).isEqualTo("57014"));
      assertThat(tookMs).as("ms from cancel to the victim's error").isLessThan(1000);

      // the other client kept working through the cancel and goes on after it
      long deadline = System.nanoTime() + WAIT_NANOS;
      while (otherQueries.get() < otherBeforeCancel + 10 && !otherWork.isDone()) {
        assertThat(System.nanoTime())
            .as("other client's queries after the cancel")
            .isLessThan(deadline);
        Thread.sleep(5);
      }
      stopOther.set(true);
      otherWork.get(10, TimeUnit.SECONDS);
      assertThat(otherQueries.get()).isGreaterThanOrEqualTo(otherBeforeCancel + 10);
      // the cancelled client goes on working
      ResultSet rs = victim.createStatement().executeQuery("SELECT 5");
      rs.next();
      assertThat(rs.getInt(1)).isEqualTo(5);
    } finally {
      workers.shutdownNow();
      assertThat(workers.awaitTermination(10, TimeUnit.SECONDS)).as("workers finished").isTrue();
    }
  }

  /**
   * Waits until PostgreSQL itself reports the victim's query as running: a cancel sent before the
   * backend has started it would find nothing to cancel.
   */
  private void awaitActive(String query) throws SQLException, InterruptedException {
    String sql =
        "SELECT count(*) FROM pg_stat_activity WHERE datname = ? AND state = 'active'"
            + " AND query = ?";
    long deadline = System.nanoTime() + WAIT_NANOS;
    try (Connection su = pg.connectSuper();
        PreparedStatement ps = su.prepareStatement(sql)) {
      ps.setString(1, pg.appDatabase());
      ps.setString(2, query);
      while (true) {
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          if (rs.getInt(1) == 1) {
            return;
          }
        }
        assertThat(System.nanoTime())
            .as("pg_stat_activity shows %s as active", query)
            .isLessThan(deadline);
        Thread.sleep(5);
      }
    }
  }
}
