package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.Durations;
import dev.sluice.config.HostAndPort;
import dev.sluice.config.PoolMode;
import dev.sluice.config.ProxyConfigBuilder;
import dev.sluice.pool.PoolStats;
import dev.sluice.relay.FaultRelay;
import dev.sluice.testing.ExtraPostgres;
import dev.sluice.testing.LeakReports;
import java.net.InetSocketAddress;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.Test;

/**
 * The soak: {@value #CLIENTS} JDBC clients keep Sluice busy (see {@link SoakClients}) while every
 * {@code sluice.soak.interval} (30 s) the next {@link SoakFault} in the cycle hits it: PostgreSQL
 * restarted, a busy backend terminated, one SIGKILLed, the idle ones terminated, the network
 * black-holed, reset, slowed. Sluice's upstream is a {@link FaultRelay} in front of a PostgreSQL of
 * the soak's own.
 *
 * <p>Each fault prints one line: its client errors by SQLSTATE, and how long after it healed every
 * client had succeeded again (bounded by {@link #RECOVERY_BOUND}). At the end the load stops and
 * the JVM must hold what it held after the warm-up minute (taken the same way: clients gone, pools
 * idle at min-idle, garbage collected): heap at most {@link #GROWTH} more, Netty's direct memory
 * too or at most {@link #ALLOCATOR_CHUNKS} more, no more Netty buffers unreleased, open file
 * descriptors at most {@link #FD_SLACK} more; and Netty reports no leak, Sluice no broken
 * invariant, no client a wrong answer.
 *
 * <p>Not in the default run: only {@code mvn -B verify -Psoak -pl proxy-server -am} runs it (the
 * parent POM's {@code soak} profile). {@code -Dsluice.soak.duration=1m} shortens the faulted part
 * (default 5m), {@code -Dsluice.soak.warmup} the warm-up (1m), {@code -Dsluice.soak.interval} the
 * time between faults (30s).
 */
class SoakIT {
  private static final int CLIENTS = 20;
  private static final int POOL_SIZE = 10;
  private static final int MIN_IDLE = 4;
  private static final Duration RECOVERY_BOUND = Duration.ofSeconds(10);
  private static final double GROWTH = 0.05;

  /**
   * What Netty's direct memory may grow by when 5% of it is less: two of the allocator's chunks.
   * That memory is the allocator's chunks, and the adaptive allocator keeps a chunk with no buffer
   * in it for the next burst, per event loop: a burst of 64 KiB reads (a crash restart's, say) can
   * leave one more 512 KiB chunk (eight such buffers) cached, a one-time step that later faults do
   * not repeat. Buffers kept alive, which would be a leak, are counted exactly instead ({@link
   * Footprint#unreleasedBuffers()}) and must not grow.
   */
  private static final long ALLOCATOR_CHUNKS = 1024 * 1024;

  private static final int FD_SLACK = 5;
  private static final long QUIET_WAIT_NANOS = TimeUnit.SECONDS.toNanos(60);

  /** The JVM once the clients are gone and the pool is idle. */
  private record Quiet(
      Footprint footprint, List<LeakReports.Leak> leaks, String pools, int idleInTransaction) {}

  @Test
  void faultsUnderLoadLeaveNothingBehind() throws Exception {
    Duration soak = setting("sluice.soak.duration", "5m");
    Duration warmUp = setting("sluice.soak.warmup", "1m");
    Duration interval = setting("sluice.soak.interval", "30s");
    try (ExtraPostgres pg = ExtraPostgres.primary()) {
      try (Connection c = pg.server().connectApp()) {
        SoakClients.createTables(c);
      }
      try (FaultRelay relay =
              FaultRelay.start(
                  new InetSocketAddress("127.0.0.1", 0),
                  new InetSocketAddress(pg.server().host(), pg.port()));
          TestSluice sluice =
              TestSluice.start(
                  pg.server(), new HostAndPort("127.0.0.1", relay.port()), SoakIT::configure)) {
        soak(new SoakTarget(pg, relay), sluice, warmUp, soak, interval);
      } catch (Throwable e) {
        System.err.println("---- PostgreSQL log ----\n" + pg.server().logTail(80));
        throw e;
      }
    }
  }

  private static ProxyConfigBuilder configure(ProxyConfigBuilder b) {
    return b.poolMode(PoolMode.TRANSACTION)
        .poolSize(POOL_SIZE)
        .minIdle(MIN_IDLE)
        .acquireTimeout(Duration.ofSeconds(10))
        // Backends beyond min-idle close soon after the load stops, so that the pool has the
        // same size at both measurements.
        .serverIdleTimeout(Duration.ofSeconds(5));
  }

  private static void soak(
      SoakTarget target, TestSluice sluice, Duration warmUp, Duration soak, Duration interval)
      throws Exception {
    SoakClients warming = SoakClients.start(sluice, CLIENTS);
    Thread.sleep(warmUp.toMillis()); // the warm-up is a stretch of load, not a wait for a state
    warming.stop();
    SoakClients.Tally warm = warming.tally(-1);
    System.out.printf(
        "SoakIT warm-up: %d clients for %d s, %d operations, errors %d (%s)%n",
        CLIENTS, warmUp.toSeconds(), warm.ops.sum(), warm.errors(), warm.errorsByState());
    Quiet before = quiesce(sluice, target);

    SoakClients load = SoakClients.start(sluice, CLIENTS);
    List<SoakOutcome> outcomes = cycleFaults(target, load, soak, interval);
    load.stop();
    Quiet after = quiesce(sluice, target);

    long bugs = sluice.server.stats().bugs.sum();
    System.out.printf(
        "SoakIT after the warm-up -> after %d faults: %s; pool %s -> %s; leak reports %d -> %d;"
            + " broken invariants %d; wrong answers %d%n",
        outcomes.size(),
        before.footprint().compare(after.footprint()),
        before.pools(),
        after.pools(),
        before.leaks().size(),
        after.leaks().size(),
        bugs,
        warming.wrongAnswers() + load.wrongAnswers());
    System.out.println("SoakIT Sluice: " + sluice.server.statsLine());

    SoftAssertions soft = new SoftAssertions();
    soft.assertThat(warm.errors()).as("client errors in the warm-up, before any fault").isZero();
    for (SoakOutcome o : outcomes) {
      soft.assertThat(o.unrecovered()).as("clients never served again after %s", o).isZero();
      soft.assertThat(o.slowestMillis())
          .as("ms until the last client was served again after %s", o)
          .isLessThan(RECOVERY_BOUND.toMillis());
    }
    soft.assertThat(warming.wrongAnswers() + load.wrongAnswers()).as("wrong answers").isZero();
    soft.assertThat(before.leaks()).as("Netty leak reports after the warm-up").isEmpty();
    soft.assertThat(after.leaks()).as("Netty leak reports after the soak").isEmpty();
    soft.assertThat(bugs).as("Sluice's broken invariants").isZero();
    soft.assertThat(after.idleInTransaction()).as("backends left idle in transaction").isZero();
    Footprint was = before.footprint();
    Footprint is = after.footprint();
    soft.assertThat(is.heapAfterGc())
        .as("heap after GC, %s before", Footprint.mb(was.heapAfterGc()))
        .isLessThanOrEqualTo((long) (was.heapAfterGc() * (1 + GROWTH)));
    long directAllowed = Math.max((long) (was.nettyDirect() * GROWTH), ALLOCATOR_CHUNKS);
    soft.assertThat(is.nettyDirect())
        .as("Netty direct memory, %s before", Footprint.mb(was.nettyDirect()))
        .isLessThanOrEqualTo(was.nettyDirect() + directAllowed);
    soft.assertThat(is.unreleasedBuffers())
        .as("Netty buffers not released, with nothing in flight")
        .isLessThanOrEqualTo(was.unreleasedBuffers());
    soft.assertThat(is.openFiles())
        .as("open file descriptors, %d before", was.openFiles())
        .isLessThanOrEqualTo(was.openFiles() + FD_SLACK);
    soft.assertAll();
  }

  /** Every {@code interval} the next fault of the cycle, until {@code soak} is over. */
  private static List<SoakOutcome> cycleFaults(
      SoakTarget target, SoakClients load, Duration soak, Duration interval) throws Exception {
    int slots = (int) Math.max(1, soak.toMillis() / interval.toMillis());
    return cycleFaults(target, load, slots, interval, RECOVERY_BOUND.multipliedBy(2));
  }

  /**
   * {@code slots} faults of the cycle, one every {@code interval} (or later, when the clients take
   * longer to recover), each waiting up to {@code recoveryWait} for every client to be served
   * again.
   */
  static List<SoakOutcome> cycleFaults(
      SoakTarget target, SoakClients load, int slots, Duration interval, Duration recoveryWait)
      throws Exception {
    SoakFault[] cycle = SoakFault.values();
    long origin = System.nanoTime();
    List<SoakOutcome> outcomes = new ArrayList<>();
    for (int k = 0; k < slots; k++) {
      long end = origin + (k + 1) * interval.toNanos();
      SoakFault fault = cycle[k % cycle.length];
      load.enterSlot(k);
      long injected = System.nanoTime();
      String detail = fault.inject(target);
      long healed = System.nanoTime();
      load.healedAt(healed);
      long[] recovery = load.awaitRecovery(healed + recoveryWait.toNanos());
      sleepUntil(end); // errors are the slot's until the next fault
      SoakOutcome o =
          new SoakOutcome(k, slots, fault, detail, healed - injected, recovery, load.tally(k));
      o.print();
      outcomes.add(o);
    }
    return outcomes;
  }

  /** Waits for the clients to be gone and the pool idle at min-idle, then measures. */
  private static Quiet quiesce(TestSluice sluice, SoakTarget target) throws Exception {
    String pools = awaitIdlePool(sluice, target.relay);
    LeakReports.collect(Duration.ofSeconds(10));
    List<LeakReports.Leak> leaks = LeakReports.drain();
    int idleInTransaction = target.idleInTransaction();
    return new Quiet(Footprint.measure(), leaks, pools, idleInTransaction);
  }

  private static String awaitIdlePool(TestSluice sluice, FaultRelay relay) throws Exception {
    long deadline = System.nanoTime() + QUIET_WAIT_NANOS;
    while (true) {
      List<PoolStats> pools = sluice.server.pools().stream().map(p -> p.pool().stats()).toList();
      boolean quiet =
          sluice.server.loggedInClients() == 0
              && sluice.server.pendingLogins() == 0
              && pools.size() == 1
              && pools.get(0).idle() == MIN_IDLE
              && pools.get(0).total() == MIN_IDLE
              && pools.get(0).waiting() == 0
              // the relay's links are the pool's alone then (cache catalog reads come and go)
              && relay.links().size() == MIN_IDLE;
      if (quiet) {
        return pools.get(0).toString();
      }
      assertThat(System.nanoTime() - deadline)
          .as(
              "Sluice quiet: clients %d, pools %s, relay links %d",
              sluice.server.loggedInClients(), pools, relay.links().size())
          .isNegative();
      Thread.sleep(20);
    }
  }

  private static void sleepUntil(long nanos) throws InterruptedException {
    long left = nanos - System.nanoTime();
    if (left > 0) {
      TimeUnit.NANOSECONDS.sleep(left);
    }
  }

  private static Duration setting(String key, String otherwise) {
    return Durations.parse(key, System.getProperty(key, otherwise));
  }
}
