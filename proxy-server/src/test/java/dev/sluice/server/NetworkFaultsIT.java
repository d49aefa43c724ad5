package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.config.HostAndPort;
import dev.sluice.config.PoolMode;
import dev.sluice.relay.Direction;
import dev.sluice.relay.FaultRelay;
import dev.sluice.relay.RelayLink;
import dev.sluice.testing.PostgresExtension;
import dev.sluice.testing.PostgresServer;
import java.io.EOFException;
import java.net.InetSocketAddress;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A bad network between Sluice and PostgreSQL, made by a {@link FaultRelay} that Sluice's upstream
 * points at: a backend connection reset mid-query, and backends that go silent (a black hole).
 *
 * <p>The relay runs in userspace, so in its black hole the kernel still acknowledges what fits in
 * the relay's receive buffer and answers keepalive probes: it looks like a hung server on a live
 * host rather than a network that drops packets. What Sluice can notice is therefore what it
 * notices on its own: an idle backend that does not answer its check before reuse, and data that
 * stays unacknowledged once the window has closed (the TCP user timeout). A backend that goes
 * silent after taking a whole small query is not noticed in bounded time; a query timeout would.
 */
@ExtendWith(PostgresExtension.class)
class NetworkFaultsIT {
  private final PostgresServer pg;
  private FaultRelay relay;

  NetworkFaultsIT(PostgresServer pg) {
    this.pg = pg;
  }

  @AfterEach
  void stopRelay() {
    if (relay != null) {
      relay.close();
    }
  }

  private FaultRelay relay(int socketBuffers) {
    relay =
        FaultRelay.builder(
                new InetSocketAddress("127.0.0.1", 0), new InetSocketAddress(pg.host(), pg.port()))
            .socketBuffers(socketBuffers)
            .start();
    return relay;
  }

  private static HostAndPort at(FaultRelay r) {
    return new HostAndPort("127.0.0.1", r.port());
  }

  private static int one(Connection c, String sql) throws SQLException {
    try (ResultSet rs = c.createStatement().executeQuery(sql)) {
      rs.next();
      return rs.getInt(1);
    }
  }

  private static long millisSince(long t0) {
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
  }

  /** PostgreSQL's (pid, client port) of the backend running {@code query}, polled for. */
  private long[] backendRunning(String query) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    try (Connection admin = pg.connectSuper()) {
      while (true) {
        try (var st =
            admin.prepareStatement(
                "SELECT pid, client_port FROM pg_stat_activity WHERE query = ? AND state ="
                    + " 'active'")) {
          st.setString(1, query);
          try (ResultSet rs = st.executeQuery()) {
            if (rs.next()) {
              return new long[] {rs.getLong(1), rs.getLong(2)};
            }
          }
        }
        assertThat(System.nanoTime()).as("a backend running %s", query).isLessThan(deadline);
        Thread.sleep(20);
      }
    }
  }

  /**
   * A client whose backend connection is reset while its query runs hears one 08006 at once and is
   * closed; clients on other backends carry on without an error, and the pool serves new clients.
   */
  @Test
  void aResetBackendCostsItsClientOneErrorAndNobodyElseAny() throws Exception {
    FaultRelay r = relay(0);
    String sleeper = "SELECT pg_sleep(30)";
    try (TestSluice s =
            TestSluice.start(
                pg,
                at(r),
                b ->
                    b.poolMode(PoolMode.TRANSACTION)
                        // the relay's links are the pool's alone: no cache catalog session
                        .cache(c -> c.withEnabled(false))
                        .poolSize(6)
                        .minIdle(2));
        RawClient victim = RawClient.connect(s, pg)) {
      int others = 3;
      AtomicBoolean stop = new AtomicBoolean();
      AtomicLong[] done = new AtomicLong[others];
      ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
      List<Thread> threads = new ArrayList<>();
      for (int i = 0; i < others; i++) {
        AtomicLong count = done[i] = new AtomicLong();
        Connection c = s.connect();
        Thread t =
            new Thread(
                () -> {
                  try (c) {
                    for (int n = 0; !stop.get(); n++) {
                      assertThat(one(c, "SELECT " + n)).isEqualTo(n);
                      count.incrementAndGet();
                    }
                  } catch (Throwable e) {
                    errors.add(e);
                  }
                },
                "other-client-" + i);
        threads.add(t);
        t.start();
      }

      victim.query("BEGIN");
      assertThat(victim.readUntilReady()).containsExactly("C", "Z:T");
      victim.query(sleeper);
      long[] backend = backendRunning(sleeper);
      RelayLink link =
          r.links().stream()
              .filter(l -> l.targetSideAddress().getPort() == backend[1])
              .findFirst()
              .orElseThrow();
      long[] before = new long[others];
      for (int i = 0; i < others; i++) {
        before[i] = done[i].get();
      }

      long t0 = System.nanoTime();
      link.reset().sync();
      assertThat(victim.readOne()).isEqualTo("E:08006");
      long errorMillis = millisSince(t0);
      assertThatThrownBy(victim::readOne)
          .as("nothing after the error")
          .isInstanceOf(EOFException.class);
      assertThat(errorMillis).as("ms from the reset to the client's error").isLessThan(1000);

      // Every other client completes 20 more queries after the reset, none of them failing.
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      for (int i = 0; i < others; i++) {
        while (done[i].get() < before[i] + 20 && errors.isEmpty()) {
          assertThat(System.nanoTime()).as("client %d carries on", i).isLessThan(deadline);
          Thread.sleep(5);
        }
      }
      stop.set(true);
      for (Thread t : threads) {
        t.join(10_000);
        assertThat(t.isAlive()).as("%s finished", t.getName()).isFalse();
      }
      assertThat(errors).isEmpty();

      try (Connection fresh = s.connect()) {
        assertThat(one(fresh, "SELECT 42")).isEqualTo(42);
      }
      assertThat(r.stats().resets()).isEqualTo(1);
      assertThat(s.server.stats().bugs.sum()).isZero();
      try (Connection admin = pg.connectSuper()) {
        admin.createStatement().execute("SELECT pg_terminate_backend(" + backend[0] + ")");
      }
    }
  }

  /**
   * An idle backend whose connection went silent (a NAT or firewall forgot it) does not answer the
   * check it gets before reuse: after --connect-timeout it is closed and the client is served by a
   * new backend, without an error.
   */
  @Test
  void anIdleBackendGoneSilentIsReplacedUnseen() throws Exception {
    FaultRelay r = relay(0);
    Duration connectTimeout = Duration.ofSeconds(1);
    try (TestSluice s =
            TestSluice.start(
                pg,
                at(r),
                b ->
                    b.poolMode(PoolMode.TRANSACTION)
                        // the relay's links are the pool's alone: no cache catalog session
                        .cache(c -> c.withEnabled(false))
                        .poolSize(1)
                        .minIdle(1)
                        .connectTimeout(connectTimeout)
                        .serverCheckDelay(Duration.ofMillis(1)));
        Connection c = s.connect()) {
      assertThat(one(c, "SELECT 1")).isEqualTo(1);
      var pool = s.server.pools().iterator().next().pool();
      assertThat(pool.stats().total()).isEqualTo(1);
      List<RelayLink> silent = r.links();
      assertThat(silent).hasSize(1);
      silent.get(0).update(Direction.BOTH, f -> f.withBlackHole(true));

      long t0 = System.nanoTime();
      var answer =
          java.util.concurrent.CompletableFuture.supplyAsync(
              () -> {
                try {
                  return one(c, "SELECT 2");
                } catch (SQLException e) {
                  throw new IllegalStateException(e);
                }
              });
      assertThat(answer.get(10, TimeUnit.SECONDS)).isEqualTo(2);
      long tookMs = millisSince(t0);
      assertThat(tookMs)
          .as("ms until served by a new backend")
          .isBetween(connectTimeout.toMillis(), connectTimeout.toMillis() + 2000);
      assertThat(s.server.stats().failedChecks.sum()).isEqualTo(1);
      assertThat(r.stats().accepted()).isEqualTo(2);
    }
  }

  /**
   * A black-holed backend that still has data to send (a large query) is dropped by the kernel at
   * --tcp-user-timeout once the relay's receive window has closed; the client gets 08006. The
   * relay's small socket buffers make the window close after tens of kilobytes; with the kernel's
   * autotuned buffers it takes megabytes.
   */
  @Test
  void aBlackHoledBackendWithUnsentDataFailsAtTheTcpUserTimeout() throws Exception {
    Assumptions.assumeTrue(
        io.netty.channel.epoll.Epoll.isAvailable(), "the user timeout is set with epoll only");
    FaultRelay r = relay(16 * 1024);
    Duration userTimeout = Duration.ofSeconds(2);
    String big = "SELECT length('" + "x".repeat(1 << 20) + "')";
    try (TestSluice s =
            TestSluice.start(
                pg,
                at(r),
                b ->
                    b.poolMode(PoolMode.TRANSACTION)
                        // the relay's links are the pool's alone: no cache catalog session
                        .cache(c -> c.withEnabled(false))
                        .minIdle(1)
                        .tcpUserTimeout(userTimeout));
        Connection c = s.connect()) {
      c.setAutoCommit(false);
      assertThat(one(c, "SELECT 1")).isEqualTo(1);
      r.blackHole(true);
      long t0 = System.nanoTime();
      assertThatThrownBy(() -> one(c, big))
          .isInstanceOfSatisfying(
              SQLException.class,
              e -> {
                assertThat(e.getSQLState()).isEqualTo("08006");
                assertThat(e.getMessage()).contains("server connection closed unexpectedly");
              });
      long tookMs = millisSince(t0);
      assertThat(tookMs)
          .as("ms until the kernel gave up")
          .isBetween(userTimeout.toMillis(), userTimeout.toMillis() + 2000);
      assertThat(c.isValid(1)).isFalse();
    }
  }
}
