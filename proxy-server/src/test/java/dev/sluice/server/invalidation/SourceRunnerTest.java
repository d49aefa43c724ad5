package dev.sluice.server.invalidation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.cache.CacheInvalidation;
import dev.sluice.server.invalidation.RecordingInvalidation.Kind;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** The loop both sources share, driven by scripted feeds instead of a server. */
class SourceRunnerTest {
  private static final Duration WAIT = Duration.ofSeconds(10);

  private final RecordingInvalidation sink = new RecordingInvalidation();
  private final BlockingQueue<ScriptedFeed> feeds = new LinkedBlockingQueue<>();
  private SourceRunner runner;

  /** A feed whose subscribe and pump do what the test says. */
  private static final class ScriptedFeed implements SourceRunner.Feed {
    final Exception subscribeFailure;
    final CountDownLatch lose = new CountDownLatch(1);
    final AtomicInteger aborts = new AtomicInteger();
    final AtomicInteger closes = new AtomicInteger();
    volatile String deliver;

    ScriptedFeed(Exception subscribeFailure) {
      this.subscribeFailure = subscribeFailure;
    }

    @Override
    public void subscribe() throws Exception {
      if (subscribeFailure != null) {
        throw subscribeFailure;
      }
    }

    @Override
    public void pump() throws Exception {
      lose.await();
      throw new IOException("connection reset");
    }

    @Override
    public void abort() {
      aborts.incrementAndGet();
      lose.countDown();
    }

    @Override
    public void close() {
      closes.incrementAndGet();
    }
  }

  private ScriptedFeed streaming() {
    ScriptedFeed f = new ScriptedFeed(null);
    feeds.add(f);
    return f;
  }

  private ScriptedFeed failing(Exception e) {
    ScriptedFeed f = new ScriptedFeed(e);
    feeds.add(f);
    return f;
  }

  private SourceRunner runner(CacheInvalidation target) {
    runner =
        new SourceRunner(
            "test",
            "db",
            "test source",
            target,
            new Backoff(Duration.ofMillis(1), Duration.ofMillis(2), () -> 0.5),
            () -> {
              try {
                return feeds.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
              } catch (InterruptedException e) {
                throw new IllegalStateException(e);
              }
            },
            LoggerFactory.getLogger(SourceRunnerTest.class),
            Clock.systemUTC());
    return runner;
  }

  @AfterEach
  void close() {
    if (runner != null) {
      runner.close();
    }
  }

  private static void await(String what, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (!condition.getAsBoolean()) {
      assertThat(System.nanoTime() - deadline).as("waiting for %s", what).isNegative();
      Thread.sleep(1);
    }
  }

  @Test
  void aLostSubscriptionFlushesThenResubscribesAndFlushesAgain() throws Exception {
    ScriptedFeed first = streaming();
    SourceRunner r = runner(sink);
    r.start();
    await("streaming", () -> r.status().state() == SourceState.STREAMING);
    sink.await(0, e -> e.kind() == Kind.DATABASE, WAIT, "flush at subscription");
    int before = sink.size();

    ScriptedFeed second = streaming();
    first.lose.countDown();
    await("a reconnect", () -> r.status().reconnects() == 1);

    assertThat(sink.since(before))
        .extracting(RecordingInvalidation.Event::kind)
        .containsExactly(Kind.DATABASE, Kind.DATABASE);
    InvalidationStatus s = r.status();
    assertThat(s.state()).isEqualTo(SourceState.STREAMING);
    assertThat(s.flushes()).isEqualTo(3);
    assertThat(s.lastError()).contains("connection reset");
    assertThat(first.closes.get()).isEqualTo(1);

    r.close();
    assertThat(second.aborts.get()).isEqualTo(1);
    assertThat(second.closes.get()).isEqualTo(1);
    assertThat(r.status().state()).isEqualTo(SourceState.STOPPED);
    assertThat(r.status().flushes()).as("no flush for a deliberate close").isEqualTo(3);
  }

  @Test
  void failedAttemptsAreRetriedUntilOneSubscribes() throws Exception {
    failing(new IOException("connection refused"));
    failing(new IOException("connection refused"));
    streaming();
    SourceRunner r = runner(sink);
    r.start();
    await("streaming", () -> r.status().state() == SourceState.STREAMING);
    InvalidationStatus s = r.status();
    assertThat(s.reconnects()).as("never lost, so not a reconnect").isZero();
    assertThat(s.flushes()).isEqualTo(1);
    assertThat(s.lastError()).contains("connection refused");
  }

  @Test
  void anUnavailableServerEndsTheSourceWithItsReason() throws Exception {
    failing(new SourceUnavailableException("wal_level is 'replica'"));
    SourceRunner r = runner(sink);
    r.start();
    await("unavailable", () -> r.status().state() == SourceState.UNAVAILABLE);
    assertThat(r.status().lastError()).isEqualTo("wal_level is 'replica'");
    assertThat(feeds).isEmpty();
    r.close();
    assertThat(r.status().state()).isEqualTo(SourceState.STOPPED);
    assertThat(sink.size()).isZero();
  }

  @Test
  void aCacheThatThrowsNeverStopsTheSource() throws Exception {
    AtomicInteger calls = new AtomicInteger();
    CacheInvalidation broken =
        new CacheInvalidation() {
          @Override
          public void tables(String database, Collection<String> tables) {
            calls.incrementAndGet();
            throw new IllegalStateException("cache bug");
          }

          @Override
          public void database(String database) {
            calls.incrementAndGet();
            throw new IllegalStateException("cache bug");
          }

          @Override
          public void all() {}
        };
    streaming();
    SourceRunner r = runner(broken);
    r.start();
    await("streaming", () -> r.status().state() == SourceState.STREAMING);
    r.deliver(List.of("t"));
    assertThat(calls.get()).as("subscription flush, tables, fallback flush").isEqualTo(3);
    assertThat(r.status().state()).isEqualTo(SourceState.STREAMING);
  }

  @Test
  void startingTwiceOrAfterCloseIsRefused() {
    SourceRunner r = runner(sink);
    r.close();
    assertThat(r.status().state()).isEqualTo(SourceState.STOPPED);
    assertThatThrownBy(r::start).isInstanceOf(IllegalStateException.class);
  }
}
