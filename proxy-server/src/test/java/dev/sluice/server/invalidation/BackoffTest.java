package dev.sluice.server.invalidation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class BackoffTest {
  @Test
  void doublesUpToTheCapWithinTheUpperHalfAndResets() {
    Backoff lowest = new Backoff(Duration.ofMillis(100), Duration.ofSeconds(5), () -> 0.0);
    Backoff highest = new Backoff(Duration.ofMillis(100), Duration.ofSeconds(5), () -> 0.999999);
    long[] ceilings = {100, 200, 400, 800, 1600, 3200, 5000, 5000};
    for (long ceiling : ceilings) {
      assertThat(lowest.next()).isEqualTo(Duration.ofMillis(ceiling / 2));
      assertThat(highest.next())
          .isLessThanOrEqualTo(Duration.ofMillis(ceiling))
          .isGreaterThan(Duration.ofMillis(ceiling).minusMillis(1));
    }
    lowest.reset();
    assertThat(lowest.next()).isEqualTo(Duration.ofMillis(50));
  }

  @Test
  void refusesBoundsThatMakeNoSense() {
    assertThatThrownBy(() -> new Backoff(Duration.ZERO, Duration.ofSeconds(1), () -> 0.5))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new Backoff(Duration.ofSeconds(2), Duration.ofSeconds(1), () -> 0.5))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
