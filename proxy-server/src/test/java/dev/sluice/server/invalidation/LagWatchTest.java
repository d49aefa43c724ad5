package dev.sluice.server.invalidation;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

class LagWatchTest {
  private static final long S = 1_000_000; // microseconds

  private final AtomicInteger flushes = new AtomicInteger();
  private final LagWatch watch =
      new LagWatch(
          Duration.ofSeconds(5),
          flushes::incrementAndGet,
          LoggerFactory.getLogger(LagWatchTest.class),
          "db");

  @Test
  void withinTheLimitNothingIsFlushed() {
    assertThat(watch.observe(100 * S, 99 * S)).isEqualTo(Duration.ofSeconds(1));
    assertThat(watch.observe(100 * S, 101 * S)).as("clock offset error").isZero();
    assertThat(flushes.get()).isZero();
    assertThat(watch.behind()).isFalse();
  }

  @Test
  void behindTheLimitFlushesAtOnceThenOncePerLimitUntilCaughtUp() {
    watch.observe(100 * S, 94 * S);
    assertThat(flushes.get()).isEqualTo(1);
    assertThat(watch.behind()).isTrue();
    watch.observe(101 * S, 95 * S);
    watch.observe(104 * S, 98 * S);
    assertThat(flushes.get()).as("not again within 5 s").isEqualTo(1);
    watch.observe(105 * S, 99 * S);
    assertThat(flushes.get()).isEqualTo(2);
    watch.observe(106 * S, 103 * S);
    assertThat(watch.behind()).as("3 s is under the limit but not yet under half").isTrue();
    watch.observe(107 * S, 106 * S);
    assertThat(watch.behind()).isFalse();
    watch.observe(120 * S, 110 * S);
    assertThat(flushes.get()).as("a new episode flushes at once").isEqualTo(3);
  }
}
