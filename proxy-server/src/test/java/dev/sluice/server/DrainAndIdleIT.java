package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.config.PoolMode;
import dev.sluice.testing.PostgresExtension;
import dev.sluice.testing.PostgresServer;
import java.net.Socket;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Operations that must cost clients nothing: idle backends dying, and a graceful stop. */
@ExtendWith(PostgresExtension.class)
class DrainAndIdleIT {
  private final PostgresServer pg;

  DrainAndIdleIT(PostgresServer pg) {
    this.pg = pg;
  }

  private static int one(Connection c, String sql) throws SQLException {
    try (ResultSet rs = c.createStatement().executeQuery(sql)) {
      rs.next();
      return rs.getInt(1);
    }
  }

  /** Idle pooled backends killed: the clients that come next never notice. */
  @Test
  void idleBackendsTerminatedCostTheNextClientsNothing() throws Exception {
    try (TestSluice s =
            TestSluice.start(
                pg,
                b ->
                    b.poolMode(PoolMode.TRANSACTION)
                        .poolSize(4)
                        .minIdle(4)
                        .serverCheckDelay(Duration.ofMillis(1)));
        Connection c = s.connect(TestSluice.props("ApplicationName", "idle-victims"))) {
      assertThat(one(c, "SELECT 1")).isEqualTo(1);
      long deadline = System.nanoTime() + 10_000_000_000L;
      while (pg.backendCount(null) < 4) {
        assertThat(System.nanoTime()).as("4 warm backends").isLessThan(deadline);
        Thread.sleep(20);
      }
      assertThat(pg.terminateBackends(null)).isGreaterThanOrEqualTo(4);
      for (int i = 0; i < 20; i++) {
        assertThat(one(c, "SELECT " + i)).isEqualTo(i);
      }
      assertThat(s.server.stats().bugs.sum()).isZero();
    }
  }

  /** Backend sockets carry keepalive and a user timeout, so a black-holed backend is noticed. */
  @Test
  void backendSocketsAreTunedToNoticeALostBackend() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue(
        io.netty.channel.epoll.Epoll.isAvailable(), "the options are set with epoll only");
    try (TestSluice s =
            TestSluice.start(
                pg,
                b ->
                    b.minIdle(1)
                        .tcpKeepaliveIdle(Duration.ofSeconds(17))
                        .tcpUserTimeout(Duration.ofSeconds(23)));
        Connection c = s.connect()) {
      assertThat(one(c, "SELECT 1")).isEqualTo(1);
      ServerConnection backend = s.server.pools().iterator().next().pool().openConnections().get(0);
      var config = ((io.netty.channel.epoll.EpollSocketChannel) backend.channel()).config();
      assertThat(config.isKeepAlive()).isTrue();
      assertThat(config.getTcpKeepIdle()).isEqualTo(17);
      assertThat(config.getTcpKeepIntvl()).isEqualTo(10);
      assertThat(config.getTcpKeepCnt()).isEqualTo(3);
      assertThat(config.getTcpUserTimeout()).isEqualTo(23_000);
    }
  }

  /**
   * SIGTERM's drain: transactions in flight finish and their commits hold; a client that starts a
   * new transaction hears 57P01; no new client gets in; the drain returns once they are done.
   */
  @Test
  void aDrainLetsTransactionsInFlightFinish() throws Exception {
    try (Connection setup = pg.connectApp();
        Statement st = setup.createStatement()) {
      st.execute("DROP TABLE IF EXISTS drain_rows");
      st.execute("CREATE TABLE drain_rows (v int)");
    }
    TestSluice s = TestSluice.start(pg, b -> b.poolMode(PoolMode.TRANSACTION).poolSize(6));
    int port = s.port();
    List<Connection> inFlight = new ArrayList<>();
    try (Connection idle = s.connect()) {
      assertThat(one(idle, "SELECT 1")).isEqualTo(1);
      List<CompletableFuture<Void>> txns = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        Connection c = s.connect();
        inFlight.add(c);
        c.setAutoCommit(false);
        c.createStatement().execute("INSERT INTO drain_rows VALUES (" + i + ")");
        int me = i;
        txns.add(
            CompletableFuture.runAsync(
                () -> {
                  try {
                    c.createStatement().execute("SELECT pg_sleep(1.5)");
                    c.commit();
                  } catch (SQLException e) {
                    throw new IllegalStateException("transaction " + me + " failed", e);
                  }
                }));
      }
      long t0 = System.nanoTime();
      CompletableFuture<Void> drained =
          CompletableFuture.runAsync(() -> s.server.drain(Duration.ofSeconds(20)));

      // the client between transactions: its next one is refused with 57P01
      long deadline = System.nanoTime() + 10_000_000_000L;
      SQLException refused = null;
      while (refused == null) {
        try {
          one(idle, "SELECT 2");
          assertThat(System.nanoTime()).as("new transactions refused").isLessThan(deadline);
          Thread.sleep(20);
        } catch (SQLException e) {
          refused = e;
        }
      }
      assertThat(refused.getSQLState()).isEqualTo("57P01");

      for (CompletableFuture<Void> t : txns) {
        t.get(20, TimeUnit.SECONDS);
      }
      drained.get(20, TimeUnit.SECONDS);
      long tookMs = (System.nanoTime() - t0) / 1_000_000;
      assertThat(tookMs)
          .as("drain waited for the transactions, not its timeout")
          .isLessThan(10_000);
      assertThatThrownBy(() -> new Socket("127.0.0.1", port).close())
          .as("no new clients")
          .isInstanceOf(java.net.ConnectException.class);
    } finally {
      for (Connection c : inFlight) {
        try {
          c.close();
        } catch (SQLException e) {
          // closed by the drain
        }
      }
      s.close();
    }
    try (Connection c = pg.connectApp();
        ResultSet rs = c.createStatement().executeQuery("SELECT count(*) FROM drain_rows")) {
      rs.next();
      assertThat(rs.getInt(1)).as("every acknowledged commit holds").isEqualTo(3);
    }
  }
}
