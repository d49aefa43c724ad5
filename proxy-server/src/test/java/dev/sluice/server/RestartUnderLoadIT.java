package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.PoolMode;
import dev.sluice.testing.PostgresExtension;
import dev.sluice.testing.PostgresServer;
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

/**
 * PostgreSQL restarts under 100 clients doing autocommit reads: the clients see no error at all (a
 * read whose backend died before answering runs again on a fresh backend, and connects are retried
 * through the restart), and full throughput is back within 2 s of PostgreSQL accepting connections
 * again.
 */
@ExtendWith(PostgresExtension.class)
class RestartUnderLoadIT {
  private static final int CLIENTS = 100;
  private static final long BUCKET_NANOS = 100_000_000L;

  private final PostgresServer pg;

  RestartUnderLoadIT(PostgresServer pg) {
    this.pg = pg;
  }

  @Test
  void autocommitReadsSeeNoErrorAcrossARestart() throws Exception {
    Assumptions.assumeTrue(pg.managed(), "needs a server the tests own");
    AtomicBoolean stop = new AtomicBoolean();
    ConcurrentLinkedQueue<String> errors = new ConcurrentLinkedQueue<>();
    // successful reads per 100 ms, from the start of the run
    AtomicLong[] buckets = new AtomicLong[600];
    for (int i = 0; i < buckets.length; i++) {
      buckets[i] = new AtomicLong();
    }
    long origin = System.nanoTime();
    try (TestSluice s =
        TestSluice.start(
            pg,
            b ->
                b.poolMode(PoolMode.TRANSACTION)
                    .poolSize(20)
                    .minIdle(20)
                    .acquireTimeout(Duration.ofSeconds(10)))) {
      List<Connection> conns = new ArrayList<>();
      for (int i = 0; i < CLIENTS; i++) {
        conns.add(s.connect(TestSluice.props("socketTimeout", "30")));
      }
      List<Thread> threads = new ArrayList<>();
      for (int i = 0; i < CLIENTS; i++) {
        Connection c = conns.get(i);
        int me = i;
        Thread t =
            new Thread(
                () -> {
                  long n = 0;
                  try (PreparedStatement ps = c.prepareStatement("SELECT ?::int + 1")) {
                    while (!stop.get()) {
                      ps.setInt(1, me);
                      try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        assertThat(rs.getInt(1)).isEqualTo(me + 1);
                        int b = (int) ((System.nanoTime() - origin) / BUCKET_NANOS);
                        buckets[Math.min(b, buckets.length - 1)].incrementAndGet();
                      } catch (SQLException e) {
                        errors.add(e.getSQLState() + " " + e.getMessage());
                      }
                      n++;
                    }
                  } catch (SQLException e) {
                    errors.add("prepare: " + e.getMessage());
                  }
                },
                "reader-" + i);
        threads.add(t);
        t.start();
      }
      Thread.sleep(3_000); // a baseline of full throughput (this is a measurement window)
      long restartAt = System.nanoTime();
      pg.restart(); // returns once PostgreSQL accepts connections again
      long backAt = System.nanoTime();
      Thread.sleep(4_000); // the recovery window being measured
      stop.set(true);
      for (Thread t : threads) {
        t.join(35_000);
        assertThat(t.isAlive()).as("%s finished", t.getName()).isFalse();
      }
      for (Connection c : conns) {
        c.close();
      }

      int restartBucket = (int) ((restartAt - origin) / BUCKET_NANOS);
      int backBucket = (int) ((backAt - origin) / BUCKET_NANOS);
      double baseline = 0;
      for (int b = 5; b < restartBucket; b++) {
        baseline += buckets[b].get();
      }
      baseline /= Math.max(1, restartBucket - 5);
      // the first half-second window after the restart running at 70% of the baseline
      int recovered = -1;
      for (int b = backBucket; b + 5 < buckets.length; b++) {
        long window = 0;
        for (int k = 0; k < 5; k++) {
          window += buckets[b + k].get();
        }
        if (window >= 0.7 * 5 * baseline) {
          recovered = b;
          break;
        }
      }
      long recoveryMs = recovered < 0 ? -1 : Math.max(0, (recovered - backBucket) * 100L);
      System.out.printf(
          "RestartUnderLoadIT: %d clients, baseline %.0f reads/100 ms, restart took %d ms,"
              + " full throughput %d ms after PostgreSQL was back; errors %d; replays %d;"
              + " connect attempts %d%n",
          CLIENTS,
          baseline,
          (backAt - restartAt) / 1_000_000,
          recoveryMs,
          errors.size(),
          s.server.stats().replays.sum(),
          s.server.connectAttempts());
      assertThat(errors).as("errors clients saw").isEmpty();
      assertThat(baseline).as("reads per 100 ms before the restart").isGreaterThan(10);
      assertThat(recovered).as("throughput recovered at all").isNotNegative();
      assertThat(recoveryMs).as("ms until full throughput").isLessThanOrEqualTo(2_000);
    } finally {
      stop.set(true);
    }
  }
}
