package dev.sluice.pool;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.error.SluiceException;
import dev.sluice.error.SqlState;
import dev.sluice.testing.ManualScheduler;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The pool against scripted connects. Time is {@link ManualScheduler}'s: the pool's clock and its
 * acquire-timeout timer both move only when a test advances them, so timeouts fire exactly when the
 * test says and every callback runs on the test thread.
 */
class ConnectionPoolTest {
  private final ManualScheduler time = new ManualScheduler(1_000_000_000L);
  private final List<CompletableFuture<Conn>> connects = new ArrayList<>();

  static final class Conn implements PooledConnection {
    final Object loop;
    volatile boolean open = true;
    volatile String closedBecause;

    Conn(Object loop) {
      this.loop = loop;
    }

    @Override
    public Object affinity() {
      return loop;
    }

    @Override
    public boolean isOpen() {
      return open;
    }

    @Override
    public void close(String reason) {
      open = false;
      closedBecause = reason;
    }
  }

  /** Records an acquire's outcome; safe to read from any thread. */
  static final class Result implements AcquireCallback<Conn> {
    volatile Conn conn;
    volatile Throwable failure;
    private final AtomicInteger calls = new AtomicInteger();

    @Override
    public void done(Conn c, Throwable f) {
      conn = c;
      failure = f;
      calls.incrementAndGet();
    }

    int calls() {
      return calls.get();
    }
  }

  private ConnectionPool<Conn> pool(int max, int minIdle, Duration acquireTimeout) {
    PoolSettings s =
        new PoolSettings(
            "db/u", max, minIdle, acquireTimeout, Duration.ofMinutes(60), Duration.ofMinutes(10));
    return new ConnectionPool<>(
        s,
        affinity -> {
          CompletableFuture<Conn> f = new CompletableFuture<>();
          connects.add(f);
          return f;
        },
        time::nanoTime);
  }

  private Result acquire(ConnectionPool<Conn> p, Object loop) {
    Result r = new Result();
    p.acquire(loop, Runnable::run, time, r);
    return r;
  }

  @Test
  void minIdleConnectionsAreOpenedAtStart() {
    ConnectionPool<Conn> p = pool(5, 2, Duration.ofSeconds(5));
    p.ensureMinIdle();
    assertThat(connects).hasSize(2);
    connects.forEach(f -> f.complete(new Conn("L1")));
    assertThat(p.stats()).isEqualTo(new PoolStats(2, 0, 2, 0, 0));
  }

  @Test
  void neverMoreThanMaxSizeAndWaitersAreServedFifo() {
    ConnectionPool<Conn> p = pool(2, 0, Duration.ofSeconds(30));
    Result a = acquire(p, "L1");
    Result b = acquire(p, "L1");
    Result c = acquire(p, "L1");
    Result d = acquire(p, "L1");
    assertThat(connects).hasSize(2);
    assertThat(p.stats().total()).isEqualTo(2);
    assertThat(p.stats().waiting()).isEqualTo(4);
    connects.get(0).complete(new Conn("L1"));
    connects.get(1).complete(new Conn("L1"));
    assertThat(a.conn).isNotNull();
    assertThat(b.conn).isNotNull();
    assertThat(c.calls()).isZero();
    p.release(a.conn, true, "done");
    assertThat(c.conn).isSameAs(a.conn);
    assertThat(d.calls()).isZero();
    p.release(b.conn, true, "done");
    assertThat(d.conn).isSameAs(b.conn);
    assertThat(p.stats()).isEqualTo(new PoolStats(2, 2, 0, 0, 0));
    assertThat(connects).hasSize(2);
    // served waiters' timeouts were cancelled: nothing fails them later
    assertThat(time.pendingTasks()).isZero();
    time.advance(Duration.ofSeconds(31));
    for (Result r : List.of(a, b, c, d)) {
      assertThat(r.calls()).isEqualTo(1);
      assertThat(r.failure).isNull();
    }
  }

  @Test
  void idleConnectionOnTheCallersLoopIsPreferred() {
    ConnectionPool<Conn> p = pool(4, 0, Duration.ofSeconds(5));
    Result a = acquire(p, "L1");
    Result b = acquire(p, "L2");
    connects.get(0).complete(new Conn("L1"));
    connects.get(1).complete(new Conn("L2"));
    Conn onL1 = a.conn.loop.equals("L1") ? a.conn : b.conn;
    Conn onL2 = onL1 == a.conn ? b.conn : a.conn;
    p.release(onL1, true, "done");
    p.release(onL2, true, "done");
    assertThat(acquire(p, "L1").conn).isSameAs(onL1);
    assertThat(acquire(p, "L2").conn).isSameAs(onL2);
  }

  @Test
  void acquireTimesOutWith53300NamingTheCounts() {
    ConnectionPool<Conn> p = pool(1, 0, Duration.ofMillis(50));
    Result a = acquire(p, "L1");
    connects.get(0).complete(new Conn("L1"));
    Result b = acquire(p, "L1");
    time.advance(Duration.ofMillis(49));
    assertThat(b.calls()).as("answered before the acquire timeout").isZero();
    time.advance(Duration.ofMillis(1));
    assertThat(b.calls()).isEqualTo(1);
    assertThat(a.conn).isNotNull();
    assertThat(b.failure)
        .isInstanceOfSatisfying(
            SluiceException.class,
            e -> assertThat(e.state()).isEqualTo(SqlState.TOO_MANY_CONNECTIONS))
        .hasMessageContaining("total=1 active=1 idle=0 waiting=0")
        .hasMessageContaining("db/u");
    assertThat(p.stats().waiting()).isZero();
  }

  @Test
  void connectFailureWithNothingLiveFailsAllWaitersWithTheRealError() {
    ConnectionPool<Conn> p = pool(3, 0, Duration.ofSeconds(30));
    Result a = acquire(p, "L1");
    Result b = acquire(p, "L1");
    IllegalStateException boom = new IllegalStateException("database \"x\" does not exist");
    connects.forEach(f -> f.completeExceptionally(boom));
    assertThat(a.failure).isSameAs(boom);
    assertThat(b.failure).isSameAs(boom);
    assertThat(p.stats()).isEqualTo(new PoolStats(0, 0, 0, 0, 0));
  }

  @Test
  void lifetimeClosesOnReleaseAndIdleTimeoutKeepsMinIdle() {
    ConnectionPool<Conn> p = pool(4, 1, Duration.ofSeconds(5));
    Result a = acquire(p, "L1");
    Result b = acquire(p, "L1");
    connects.forEach(f -> f.complete(new Conn("L1")));
    p.release(b.conn, true, "done");
    time.advance(Duration.ofMinutes(61));
    p.release(a.conn, true, "done");
    assertThat(a.conn.open).isFalse();
    assertThat(a.conn.closedBecause).isEqualTo("lifetime reached");
    p.maintain();
    assertThat(b.conn.open).isFalse();
    // maintain() tops the pool back up to min-idle
    assertThat(p.stats().connecting()).isEqualTo(1);
  }

  @Test
  void idleBeyondMinIdleIsClosedAfterTheIdleTimeout() {
    ConnectionPool<Conn> p = pool(4, 1, Duration.ofSeconds(5));
    Result a = acquire(p, "L1");
    Result b = acquire(p, "L1");
    Result c = acquire(p, "L1");
    connects.forEach(f -> f.complete(new Conn("L1")));
    p.release(a.conn, true, "done");
    p.release(b.conn, true, "done");
    p.release(c.conn, true, "done");
    assertThat(p.stats().idle()).isEqualTo(3);
    time.advance(Duration.ofMinutes(11));
    p.maintain();
    assertThat(p.stats().idle()).isEqualTo(1);
    assertThat(p.stats().total()).isEqualTo(1);
  }

  @Test
  void closedConnectionIsForgottenAndReplacedForAWaiter() {
    ConnectionPool<Conn> p = pool(1, 0, Duration.ofSeconds(30));
    Result a = acquire(p, "L1");
    connects.get(0).complete(new Conn("L1"));
    Result b = acquire(p, "L1");
    a.conn.open = false;
    p.closed(a.conn);
    assertThat(connects).hasSize(2);
    connects.get(1).complete(new Conn("L1"));
    assertThat(b.conn).isNotNull().isNotSameAs(a.conn);
  }

  @Test
  void warmUpConnectsBackOffAfterFailuresButWaitersStillTryAtOnce() {
    ConnectionPool<Conn> p = pool(4, 2, Duration.ofSeconds(30));
    p.ensureMinIdle();
    assertThat(connects).hasSize(2);
    connects.forEach(f -> f.completeExceptionally(new IllegalStateException("down")));
    p.maintain();
    assertThat(connects).as("within the first second: no new warm-up attempt").hasSize(2);
    time.advance(Duration.ofMillis(1100));
    p.maintain();
    assertThat(connects).hasSize(4);
    connects.subList(2, 4).forEach(f -> f.completeExceptionally(new IllegalStateException("down")));
    time.advance(Duration.ofMillis(1100));
    p.maintain();
    assertThat(connects).as("the wait doubled to two seconds").hasSize(4);
    // a client asking for a connection does not wait for the back-off
    Result r = acquire(p, "L1");
    assertThat(connects).hasSize(5);
    connects.get(4).complete(new Conn("L1"));
    assertThat(r.conn).isNotNull();
    // and a success ends the back-off
    p.maintain();
    assertThat(connects).hasSize(7);
  }

  @Test
  void cancelledWaiterIsNotServed() {
    ConnectionPool<Conn> p = pool(1, 0, Duration.ofSeconds(30));
    Result a = acquire(p, "L1");
    connects.get(0).complete(new Conn("L1"));
    Result b = new Result();
    ConnectionPool.Pending pending = p.acquire("L1", Runnable::run, time, b);
    pending.cancel();
    p.release(a.conn, true, "done");
    assertThat(b.calls()).isZero();
    assertThat(p.stats()).isEqualTo(new PoolStats(1, 0, 1, 0, 0));
    // nor timed out later
    time.advance(Duration.ofSeconds(31));
    assertThat(b.calls()).isZero();
  }

  @Test
  void notReusableReleaseClosesTheConnection() {
    ConnectionPool<Conn> p = pool(2, 0, Duration.ofSeconds(30));
    Result a = acquire(p, "L1");
    connects.get(0).complete(new Conn("L1"));
    p.release(a.conn, false, "client left mid-transaction");
    assertThat(a.conn.closedBecause).isEqualTo("client left mid-transaction");
    assertThat(p.stats().total()).isZero();
  }

  @Test
  void pauseClosesIdleAtOnceAndBusyOnReturnThenHoldsClientsUntilResume() {
    ConnectionPool<Conn> p = pool(3, 1, Duration.ofSeconds(30));
    Result a = acquire(p, "L1");
    Result b = acquire(p, "L1");
    connects.forEach(f -> f.complete(new Conn("L1")));
    p.release(b.conn, true, "done");
    Conn idle = b.conn;
    assertThat(p.stats()).isEqualTo(new PoolStats(2, 1, 1, 0, 0));

    CompletableFuture<Void> quiet = p.pause();
    assertThat(idle.closedBecause).isEqualTo("pool paused");
    assertThat(quiet).isNotDone();
    Result held = acquire(p, "L1");
    assertThat(held.calls()).isZero();
    int connectsBefore = connects.size();
    p.release(a.conn, true, "done");
    assertThat(a.conn.closedBecause).isEqualTo("pool paused");
    assertThat(quiet).isCompleted();
    assertThat(p.paused()).isTrue();
    // nothing was handed out and nothing opened while paused
    p.maintain();
    assertThat(held.calls()).isZero();
    assertThat(connects).hasSize(connectsBefore);
    assertThat(p.stats()).isEqualTo(new PoolStats(0, 0, 0, 0, 1));

    p.resume();
    assertThat(p.paused()).isFalse();
    connects.subList(connectsBefore, connects.size()).forEach(f -> f.complete(new Conn("L1")));
    assertThat(held.conn).isNotNull();
    assertThat(held.failure).isNull();
  }

  @Test
  void aClientHeldByAPauseStillTimesOutAndHearsWhy() {
    ConnectionPool<Conn> p = pool(2, 0, Duration.ofSeconds(5));
    p.pause();
    Result held = acquire(p, "L1");
    time.advance(Duration.ofSeconds(5));
    assertThat(held.failure)
        .isInstanceOf(SluiceException.class)
        .hasMessageContaining("paused by an administrator");
  }

  @Test
  void resumeBeforeQuietFailsThePauseFuture() {
    ConnectionPool<Conn> p = pool(2, 0, Duration.ofSeconds(30));
    Result a = acquire(p, "L1");
    connects.get(0).complete(new Conn("L1"));
    CompletableFuture<Void> quiet = p.pause();
    p.resume();
    assertThat(quiet).isCompletedExceptionally();
    p.release(a.conn, true, "done");
    assertThat(a.conn.isOpen()).isTrue();
  }

  @Test
  void reconnectReplacesEveryConnectionOpenBeforeIt() {
    ConnectionPool<Conn> p = pool(3, 1, Duration.ofSeconds(30));
    Result a = acquire(p, "L1");
    Result b = acquire(p, "L1");
    connects.forEach(f -> f.complete(new Conn("L1")));
    p.release(b.conn, true, "done");
    int before = connects.size();
    p.reconnect();
    assertThat(b.conn.closedBecause).isEqualTo("reconnect requested");
    assertThat(a.conn.isOpen()).as("a busy connection finishes its work").isTrue();
    assertThat(connects).as("min-idle reopened").hasSize(before + 1);
    connects.get(before).complete(new Conn("L1"));
    p.release(a.conn, true, "done");
    assertThat(a.conn.closedBecause).isEqualTo("reconnect requested");
    Result c = acquire(p, "L1");
    assertThat(c.conn).isSameAs(connects.get(before).join());
  }

  @Test
  void aLargerSizeServesWaitersAtOnceAndASmallerOneShrinksAsConnectionsReturn() {
    ConnectionPool<Conn> p = pool(1, 0, Duration.ofSeconds(30));
    Result a = acquire(p, "L1");
    Result b = acquire(p, "L1");
    connects.get(0).complete(new Conn("L1"));
    assertThat(b.calls()).isZero();
    p.updateSettings(
        new PoolSettings(
            "db/u", 2, 0, Duration.ofSeconds(30), Duration.ofMinutes(60), Duration.ofMinutes(10)));
    assertThat(connects).hasSize(2);
    connects.get(1).complete(new Conn("L1"));
    assertThat(b.conn).isNotNull();
    p.updateSettings(
        new PoolSettings(
            "db/u", 1, 0, Duration.ofSeconds(30), Duration.ofMinutes(60), Duration.ofMinutes(10)));
    p.release(a.conn, true, "done");
    assertThat(a.conn.closedBecause).isEqualTo("pool size reduced");
    p.release(b.conn, true, "done");
    assertThat(b.conn.isOpen()).isTrue();
    assertThat(p.stats()).isEqualTo(new PoolStats(1, 0, 1, 0, 0));
  }
}
