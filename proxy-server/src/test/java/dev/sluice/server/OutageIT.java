package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.HostAndPort;
import dev.sluice.config.Upstream;
import dev.sluice.testing.ExtraPostgres;
import dev.sluice.testing.PostgresExtension;
import dev.sluice.testing.PostgresServer;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Sluice started while its database is down: clients hear so at once instead of hanging, the
 * database is not hammered meanwhile, and clients are served soon after it comes up.
 */
@ExtendWith(PostgresExtension.class)
class OutageIT {
  private final PostgresServer shared;

  OutageIT(PostgresServer shared) {
    this.shared = shared;
  }

  @Test
  void startedDuringAnOutageSluiceFailsFastStaysQuietAndRecovers() throws Exception {
    try (ExtraPostgres pg = ExtraPostgres.primary()) {
      pg.stop();
      Upstream up =
          new Upstream(
              List.of(new HostAndPort("127.0.0.1", pg.port())),
              shared.appDatabase(),
              shared.appUser(),
              shared.appPassword(),
              Upstream.SslMode.DISABLE,
              Map.of());
      try (TestSluice s = TestSluice.start(shared, b -> b.upstream(up).minIdle(2))) {
        // Until the circuit opens, a client waits through the connect retries; then at once.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!s.server.circuitState().equals("OPEN")) {
          assertThat(System.nanoTime() - deadline).as("circuit open").isNegative();
          Thread.sleep(10);
        }
        // One unmeasured try first: a JVM's first pgjdbc login (class loading, SCRAM's PBKDF2 in
        // the driver) costs more than Sluice's answer.
        org.junit.jupiter.api.Assertions.assertThrows(SQLException.class, s::connect);
        for (int i = 0; i < 10; i++) {
          long t0 = System.nanoTime();
          SQLException e =
              org.junit.jupiter.api.Assertions.assertThrows(SQLException.class, s::connect);
          long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
          if (!s.server.circuitState().equals("OPEN")) {
            break; // the half-open probe's turn: its timing is not the open circuit's
          }
          assertThat(e.getSQLState()).as(e.toString()).isEqualTo("57P03");
          assertThat(e.getMessage()).contains("127.0.0.1:" + pg.port());
          assertThat(millis).as("ms to hear of the outage").isLessThan(100);
        }

        long attemptsBefore = s.server.connectAttempts();
        long outageStart = System.nanoTime();
        while (System.nanoTime() - outageStart < TimeUnit.SECONDS.toNanos(5)) {
          Thread.sleep(50); // a fixed stretch of outage, during which attempts are counted
        }
        long attempts = s.server.connectAttempts() - attemptsBefore;
        assertThat(attempts).as("connect attempts during 5 s of outage").isLessThanOrEqualTo(10);

        pg.start();
        long up0 = System.nanoTime();
        long upDeadline = up0 + TimeUnit.SECONDS.toNanos(10);
        while (true) {
          try (Connection c = s.connect();
              ResultSet rs = c.createStatement().executeQuery("SELECT 1")) {
            rs.next();
            break;
          } catch (SQLException e) {
            assertThat(System.nanoTime() - upDeadline).as("served again: " + e).isNegative();
            Thread.sleep(20);
          }
        }
        long recoveredMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - up0);
        assertThat(recoveredMillis)
            .as("ms from the server's start to a served client")
            .isLessThan(3000);
      }
    }
  }
}
