package dev.sluice.server;

import dev.sluice.config.Durations;
import dev.sluice.config.HostAndPort;
import dev.sluice.config.PoolMode;
import dev.sluice.config.ProxyConfigBuilder;
import dev.sluice.relay.FaultRelay;
import dev.sluice.testing.ExtraPostgres;
import java.net.InetSocketAddress;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.Test;

/**
 * The resilience scenarios side by side: the same {@value #CLIENTS} JDBC clients and the same
 * faults (each of {@link SoakFault} once, then a start during an outage) against Sluice and against
 * Debian's PgBouncer, both in transaction mode with a pool of {@value #POOL_SIZE} (min {@value
 * #MIN_IDLE}) behind the same {@link FaultRelay} in front of the same PostgreSQL. Sluice runs with
 * {@code --cache off}, so pooling is compared with pooling; PgBouncer with its defaults otherwise
 * (among them {@code server_login_retry = 15}).
 *
 * <p>It prints one table: per fault, client errors (and in how many clients) and the time from the
 * fault's healing until every client was served again. Asserted: Sluice recovers every client
 * within {@link #SLUICE_RECOVERY} after each fault, and costs clients no more errors in all than
 * PgBouncer does.
 *
 * <p>Not in the default run: {@code mvn -B verify -Pcompare -pl proxy-server -am} (needs {@code
 * apt-get install pgbouncer}); {@code -Dsluice.compare.interval=15s} sets the time per fault.
 */
class PgBouncerComparisonIT {
  private static final int CLIENTS = 20;
  private static final int POOL_SIZE = 10;
  private static final int MIN_IDLE = 4;
  private static final Duration SLUICE_RECOVERY = Duration.ofSeconds(10);

  /** How long a slow proxy gets to serve every client again before the fault counts unhealed. */
  private static final Duration RECOVERY_WAIT = Duration.ofSeconds(40);

  private static final Duration WARM_UP = Duration.ofSeconds(5);
  private static final int OUTAGE_CLIENTS = 5;
  private static final int OUTAGE_SOCKET_TIMEOUT_SECONDS = 10;

  /** One proxy's run: an outcome per fault, then the outage. */
  private record Run(String name, List<SoakOutcome> faults, Outage outage) {
    long errors() {
      return faults.stream().mapToLong(o -> o.tally().errors()).sum();
    }
  }

  /**
   * Starting during an outage: what {@value #OUTAGE_CLIENTS} new clients heard (milliseconds and
   * SQLSTATE, "timeout" when nothing within the socket timeout), and how long after PostgreSQL
   * started again a new client was served.
   */
  private record Outage(List<String> answers, long recoveredMillis) {}

  @Test
  void theSameFaultsSideBySide() throws Exception {
    Duration interval =
        Durations.parse(
            "sluice.compare.interval", System.getProperty("sluice.compare.interval", "15s"));
    List<SoakOutcome> sluiceFaults;
    List<SoakOutcome> bouncerFaults;
    Outage sluiceOutage;
    Outage bouncerOutage;
    try (ExtraPostgres pg = ExtraPostgres.primary()) {
      try (Connection c = pg.server().connectApp()) {
        SoakClients.createTables(c);
      }
      try (FaultRelay relay =
          FaultRelay.start(
              new InetSocketAddress("127.0.0.1", 0),
              new InetSocketAddress(pg.server().host(), pg.port()))) {
        SoakTarget target = new SoakTarget(pg, relay);
        HostAndPort viaRelay = new HostAndPort("127.0.0.1", relay.port());
        try (TestSluice s =
            TestSluice.start(pg.server(), viaRelay, PgBouncerComparisonIT::sluice)) {
          sluiceFaults =
              faults(target, () -> s.connect(TestSluice.props("socketTimeout", "30")), interval);
        }
        try (PgBouncerProcess b =
            PgBouncerProcess.start(pg.server(), "127.0.0.1", relay.port(), POOL_SIZE, MIN_IDLE)) {
          bouncerFaults = faults(target, b::connect, interval);
        }
        // The outage: each proxy started while PostgreSQL is down (outage() starts it again).
        String timeout = Integer.toString(OUTAGE_SOCKET_TIMEOUT_SECONDS);
        pg.stop();
        try (TestSluice s =
            TestSluice.start(pg.server(), viaRelay, PgBouncerComparisonIT::sluice)) {
          sluiceOutage =
              outage(
                  pg,
                  () ->
                      s.connect(
                          TestSluice.props("socketTimeout", timeout, "loginTimeout", timeout)));
        }
        pg.stop();
        try (PgBouncerProcess b =
            PgBouncerProcess.start(pg.server(), "127.0.0.1", relay.port(), POOL_SIZE, MIN_IDLE)) {
          bouncerOutage = outage(pg, () -> b.connect(OUTAGE_SOCKET_TIMEOUT_SECONDS));
        }
      }
    }
    List<Run> runs =
        List.of(
            new Run("Sluice", sluiceFaults, sluiceOutage),
            new Run("PgBouncer", bouncerFaults, bouncerOutage));
    print(runs);

    Run sluice = runs.get(0);
    Run bouncer = runs.get(1);
    SoftAssertions soft = new SoftAssertions();
    for (SoakOutcome o : sluice.faults()) {
      soft.assertThat(o.unrecovered()).as("Sluice clients never served again after %s", o).isZero();
      soft.assertThat(o.slowestMillis())
          .as("ms until Sluice served every client again after %s", o)
          .isLessThan(SLUICE_RECOVERY.toMillis());
    }
    soft.assertThat(sluice.errors())
        .as("client errors through Sluice, all faults (PgBouncer: %d)", bouncer.errors())
        .isLessThanOrEqualTo(bouncer.errors());
    soft.assertThat(sluice.outage().answers())
        .as("Sluice's answers during the outage")
        .allMatch(a -> a.endsWith("57P03"));
    soft.assertThat(sluice.outage().recoveredMillis())
        .as("ms from PostgreSQL's start to a client served through Sluice")
        .isBetween(0L, 3_000L);
    soft.assertAll();
  }

  private static ProxyConfigBuilder sluice(ProxyConfigBuilder b) {
    return b.poolMode(PoolMode.TRANSACTION)
        .poolSize(POOL_SIZE)
        .minIdle(MIN_IDLE)
        .acquireTimeout(Duration.ofSeconds(10))
        .cache(c -> c.withEnabled(false));
  }

  /** A warm-up, then each fault once, one per {@code interval}. */
  private static List<SoakOutcome> faults(
      SoakTarget target, SoakClients.Endpoint endpoint, Duration interval) throws Exception {
    SoakClients load = SoakClients.start(endpoint, CLIENTS);
    try {
      Thread.sleep(WARM_UP.toMillis()); // a stretch of load before the first fault
      return SoakIT.cycleFaults(target, load, SoakFault.values().length, interval, RECOVERY_WAIT);
    } finally {
      load.stop();
    }
  }

  private static Outage outage(ExtraPostgres pg, Callable<Connection> connect) throws Exception {
    Thread.sleep(3_000); // the proxy up for a while during the outage, as after a restart
    List<String> answers = new ArrayList<>();
    ExecutorService pool = Executors.newFixedThreadPool(OUTAGE_CLIENTS);
    try {
      List<Future<String>> futures = new ArrayList<>();
      for (int i = 0; i < OUTAGE_CLIENTS; i++) {
        futures.add(pool.submit(() -> answer(connect)));
      }
      for (Future<String> f : futures) {
        answers.add(f.get(2L * OUTAGE_SOCKET_TIMEOUT_SECONDS + 30, TimeUnit.SECONDS));
      }
    } finally {
      pool.shutdownNow();
    }
    pg.start();
    long started = System.nanoTime();
    long deadline = started + RECOVERY_WAIT.toNanos();
    while (true) {
      try (Connection c = connect.call();
          ResultSet rs = c.createStatement().executeQuery("SELECT 1")) {
        rs.next();
        return new Outage(answers, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
      } catch (SQLException e) {
        if (System.nanoTime() - deadline > 0) {
          return new Outage(answers, -1);
        }
        Thread.sleep(20);
      }
    }
  }

  /** "12 ms 57P03", or "10003 ms timeout" when nothing came within the socket timeout. */
  private static String answer(Callable<Connection> connect) throws Exception {
    long t0 = System.nanoTime();
    String what;
    try (Connection c = connect.call();
        ResultSet rs = c.createStatement().executeQuery("SELECT 1")) {
      what = "served";
    } catch (SQLException e) {
      what = e.getSQLState() == null || isTimeout(e) ? "timeout" : e.getSQLState();
    }
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0) + " ms " + what;
  }

  private static boolean isTimeout(SQLException e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof java.net.SocketTimeoutException
          || t instanceof SQLException s
              && "08001".equals(s.getSQLState())
              && String.valueOf(s.getMessage()).contains("timed out")) {
        return true;
      }
    }
    return false;
  }

  private static void print(List<Run> runs) {
    StringBuilder b = new StringBuilder("PgBouncerComparisonIT\n");
    b.append("| fault |");
    runs.forEach(
        r ->
            b.append(' ')
                .append(r.name())
                .append(" errors (clients) | ")
                .append(r.name())
                .append(" all served again after |"));
    b.append('\n');
    int faults = runs.get(0).faults().size();
    for (int i = 0; i < faults; i++) {
      b.append("| ").append(runs.get(0).faults().get(i).fault().word).append(" |");
      for (Run r : runs) {
        SoakOutcome o = r.faults().get(i);
        b.append(' ')
            .append(o.tally().errors())
            .append(" (")
            .append(o.tally().clientsWithErrors())
            .append(") ")
            .append(o.tally().errorsByState())
            .append(" | ")
            .append(
                o.slowestMillis() < 0
                    ? "not within " + RECOVERY_WAIT.toSeconds() + " s"
                    : o.slowestMillis() + " ms")
            .append(" |");
      }
      b.append('\n');
    }
    b.append("| start during an outage |");
    for (Run r : runs) {
      b.append(' ')
          .append(String.join(", ", r.outage().answers()))
          .append(" | ")
          .append(
              r.outage().recoveredMillis() < 0
                  ? "not within " + RECOVERY_WAIT.toSeconds() + " s"
                  : r.outage().recoveredMillis() + " ms")
          .append(" |");
    }
    b.append('\n');
    runs.forEach(
        r -> b.append(r.name()).append(" errors in all: ").append(r.errors()).append('\n'));
    System.out.print(b);
  }
}
