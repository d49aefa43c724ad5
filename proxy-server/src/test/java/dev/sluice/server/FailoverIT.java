package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.HostAndPort;
import dev.sluice.config.PoolMode;
import dev.sluice.config.Upstream;
import dev.sluice.testing.ExtraPostgres;
import dev.sluice.testing.PostgresExtension;
import dev.sluice.testing.PostgresServer;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Several upstream hosts, libpq style: hosts in order, dead ones skipped, and {@code
 * target_session_attrs} choosing by what each server is (primary or hot standby), with servers of
 * the test's own that it stops and starts.
 */
@ExtendWith(PostgresExtension.class)
class FailoverIT {
  private final PostgresServer shared;

  FailoverIT(PostgresServer shared) {
    this.shared = shared;
  }

  private TestSluice sluice(List<ExtraPostgres> hosts, String attrs) {
    List<HostAndPort> hps = new ArrayList<>();
    for (ExtraPostgres h : hosts) {
      hps.add(new HostAndPort("127.0.0.1", h.port()));
    }
    Upstream up =
        new Upstream(
            hps,
            shared.appDatabase(),
            shared.appUser(),
            shared.appPassword(),
            Upstream.SslMode.DISABLE,
            attrs == null ? Map.of() : Map.of("target_session_attrs", attrs));
    return TestSluice.start(
        shared, b -> b.upstream(up).poolMode(PoolMode.TRANSACTION).poolSize(4).minIdle(1));
  }

  private static int port(Connection c) throws SQLException {
    try (ResultSet rs = c.createStatement().executeQuery("SELECT inet_server_port()")) {
      rs.next();
      return rs.getInt(1);
    }
  }

  @Test
  void theFirstHostStoppedUnderLoadCostsAutocommitReadsNothing() throws Exception {
    try (ExtraPostgres a = ExtraPostgres.primary();
        ExtraPostgres b = ExtraPostgres.primary();
        TestSluice s = sluice(List.of(a, b), null)) {
      AtomicBoolean stop = new AtomicBoolean();
      AtomicLong reads = new AtomicLong();
      Queue<Throwable> errors = new ConcurrentLinkedQueue<>();
      Set<Integer> portsAfterStop = ConcurrentHashMap.newKeySet();
      AtomicBoolean aStopped = new AtomicBoolean();
      List<Thread> clients = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        Thread t =
            new Thread(
                () -> {
                  try (Connection c = s.connect()) {
                    while (!stop.get()) {
                      boolean after = aStopped.get();
                      int p = port(c);
                      if (after) {
                        portsAfterStop.add(p);
                      }
                      reads.incrementAndGet();
                    }
                  } catch (Throwable e) {
                    errors.add(e);
                  }
                });
        clients.add(t);
        t.start();
      }
      awaitReads(reads, 200, errors);
      try (Connection c = s.connect()) {
        assertThat(port(c)).as("the first host serves while it is up").isEqualTo(a.port());
      }
      a.stop();
      aStopped.set(true);
      awaitReads(reads, 500, errors);
      stop.set(true);
      for (Thread t : clients) {
        t.join(TimeUnit.SECONDS.toMillis(30));
        assertThat(t.isAlive()).isFalse();
      }
      assertThat(errors).as("errors clients saw").isEmpty();
      assertThat(portsAfterStop).containsExactly(b.port());
    }
  }

  @Test
  void aStoppedHostsCircuitOpensSoConnectsSkipItUntilItsProbeSucceeds() throws Exception {
    try (ExtraPostgres a = ExtraPostgres.primary();
        ExtraPostgres b = ExtraPostgres.primary()) {
      a.stop();
      List<HostAndPort> hps =
          List.of(new HostAndPort("127.0.0.1", a.port()), new HostAndPort("127.0.0.1", b.port()));
      Upstream up =
          new Upstream(
              hps,
              shared.appDatabase(),
              shared.appUser(),
              shared.appPassword(),
              Upstream.SslMode.DISABLE,
              Map.of());
      // session mode: each client held open needs a backend of its own, so each is a connect
      try (TestSluice s =
          TestSluice.start(shared, x -> x.upstream(up).poolMode(PoolMode.SESSION).poolSize(60))) {
        List<Connection> held = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
          Connection c = s.connect();
          held.add(c);
          assertThat(port(c)).as("the second host serves").isEqualTo(b.port());
        }
        var circuitA = s.server.circuits().get(0);
        var circuitB = s.server.circuits().get(1);
        assertThat(circuitA.host()).isEqualTo("127.0.0.1:" + a.port());
        assertThat(circuitA.state()).isIn("OPEN", "HALF_OPEN");
        assertThat(circuitA.lastFailure()).contains("Connection refused");
        assertThat(circuitB.state()).isEqualTo("CLOSED");
        assertThat(s.server.circuitState()).isEqualTo("PARTLY_OPEN");
        // three connects gave up on the first host and opened its circuit; the other five went
        // straight to the second (one half-open probe may fall in, if the machine is slow)
        assertThat(circuitA.attempts.sum()).isBetween(3L, 4L);
        assertThat(circuitB.attempts.sum()).isEqualTo(8);
        for (Connection c : held) {
          c.close();
        }

        // the first host comes back: its probe succeeds, and connects prefer it again (the
        // clients below are held, so after the eight idle backends each needs a new one)
        a.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        List<Connection> more = new ArrayList<>();
        try {
          while (true) {
            Connection c = s.connect();
            more.add(c); // held, so the next client needs a new backend
            if (port(c) == a.port()) {
              break;
            }
            assertThat(System.nanoTime() - deadline).as("the first host serves again").isNegative();
            Thread.sleep(100); // the open period passing; each try is a real connect
          }
        } finally {
          for (Connection c : more) {
            c.close();
          }
        }
        assertThat(circuitA.state()).isEqualTo("CLOSED");
        assertThat(circuitA.opened.sum()).isEqualTo(1);
      }
    }
  }

  @Test
  void targetSessionAttrsChooseByWhatEachServerIs() throws Exception {
    try (ExtraPostgres primary = ExtraPostgres.primary();
        ExtraPostgres standby = ExtraPostgres.standbyOf(primary)) {
      try (TestSluice s = sluice(List.of(standby, primary), "read-write");
          Connection c = s.connect()) {
        assertThat(port(c)).isEqualTo(primary.port());
      }
      try (TestSluice s = sluice(List.of(standby, primary), "primary");
          Connection c = s.connect()) {
        assertThat(port(c)).isEqualTo(primary.port());
      }
      try (TestSluice s = sluice(List.of(primary, standby), "standby");
          Connection c = s.connect()) {
        assertThat(port(c)).isEqualTo(standby.port());
        try (ResultSet rs = c.createStatement().executeQuery("SELECT pg_is_in_recovery()")) {
          rs.next();
          assertThat(rs.getBoolean(1)).isTrue();
        }
      }
      try (TestSluice s = sluice(List.of(primary, standby), "read-only");
          Connection c = s.connect()) {
        assertThat(port(c)).isEqualTo(standby.port());
      }
      try (TestSluice s = sluice(List.of(primary, standby), "any");
          Connection c = s.connect()) {
        assertThat(port(c)).isEqualTo(primary.port());
      }

      // prefer-standby: the standby while there is one, the primary once it is gone.
      try (TestSluice s = sluice(List.of(primary, standby), "prefer-standby");
          Connection c = s.connect()) {
        assertThat(port(c)).isEqualTo(standby.port());
        standby.stop();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        int served = -1;
        for (int i = 0; i < 20; i++) {
          served = port(c);
          assertThat(System.nanoTime() - deadline).isNegative();
        }
        assertThat(served).isEqualTo(primary.port());
      }
    }
  }

  @Test
  void noHostOfTheWantedKindIsAClearError() throws Exception {
    try (ExtraPostgres primary = ExtraPostgres.primary();
        TestSluice s =
            TestSluice.start(
                shared,
                b ->
                    b.upstream(
                            new Upstream(
                                List.of(new HostAndPort("127.0.0.1", primary.port())),
                                shared.appDatabase(),
                                shared.appUser(),
                                shared.appPassword(),
                                Upstream.SslMode.DISABLE,
                                Map.of("target_session_attrs", "standby")))
                        .minIdle(0)
                        .connectRetries(0))) {
      SQLException e =
          org.junit.jupiter.api.Assertions.assertThrows(SQLException.class, () -> s.connect());
      assertThat(e.getMessage()).contains("no upstream host is a standby");
    }
  }

  private static void awaitReads(AtomicLong reads, long more, Queue<Throwable> errors)
      throws InterruptedException {
    long target = reads.get() + more;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (reads.get() < target) {
      assertThat(errors).as("errors clients saw").isEmpty();
      assertThat(System.nanoTime() - deadline).as("reads going on").isNegative();
      Thread.sleep(5);
    }
  }
}
