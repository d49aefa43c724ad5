package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.config.PoolMode;
import dev.sluice.testing.PostgresExtension;
import dev.sluice.testing.PostgresServer;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.postgresql.util.PSQLException;

/** Statement.cancel() reaches the backend serving that client, and only that one. */
@ExtendWith(PostgresExtension.class)
class CancelIT {
  private final PostgresServer pg;

  CancelIT(PostgresServer pg) {
    this.pg = pg;
  }

  @ParameterizedTest
  @EnumSource(PoolMode.class)
  void cancelStopsThePgSleepWithin1sAndOtherClientsAreUnaffected(PoolMode mode) throws Exception {
    ScheduledExecutorService timer = Executors.newScheduledThreadPool(2);
    try (TestSluice s = TestSluice.start(pg, b -> b.poolMode(mode).poolSize(4));
        Connection victim = s.connect();
        Connection other = s.connect()) {
      AtomicInteger otherQueries = new AtomicInteger();
      CompletableFuture<Void> otherWork =
          CompletableFuture.runAsync(
              () -> {
                try (Statement st = other.createStatement()) {
                  long end = System.nanoTime() + 2_000_000_000L;
                  while (System.nanoTime() < end) {
                    ResultSet rs = st.executeQuery("SELECT pg_sleep(0.01), 7");
                    rs.next();
                    assertThat(rs.getInt(2)).isEqualTo(7);
                    otherQueries.incrementAndGet();
                  }
                } catch (Exception e) {
                  throw new IllegalStateException(e);
                }
              });
      Statement st = victim.createStatement();
      timer.schedule(
          () -> {
            st.cancel();
            return null;
          },
          300,
          TimeUnit.MILLISECONDS);
      long t0 = System.nanoTime();
      assertThatThrownBy(() -> st.executeQuery("SELECT pg_sleep(30)"))
          .isInstanceOf(PSQLException.class)
          .satisfies(e -> assertThat(((PSQLException) e).getSQLState()).isEqualTo("57014"));
      long tookMs = (System.nanoTime() - t0) / 1_000_000;
      assertThat(tookMs).isLessThan(300 + 1000);
      otherWork.get(10, TimeUnit.SECONDS);
      assertThat(otherQueries.get()).isGreaterThan(10);
      // the cancelled client goes on working
      ResultSet rs = victim.createStatement().executeQuery("SELECT 5");
      rs.next();
      assertThat(rs.getInt(1)).isEqualTo(5);
    } finally {
      timer.shutdownNow();
    }
  }
}
