package dev.sluice.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class ManualSchedulerTest {
  private final ManualScheduler time = new ManualScheduler(500);
  private final List<String> ran = new ArrayList<>();

  @Test
  void tasksRunOnlyWhenTheirTimeComesInDueOrderWithTheClockAtTheirDueTime() {
    time.schedule(() -> ran.add("b@" + time.nanoTime()), 20, TimeUnit.NANOSECONDS);
    time.schedule(() -> ran.add("a@" + time.nanoTime()), 10, TimeUnit.NANOSECONDS);
    time.schedule(() -> ran.add("c@" + time.nanoTime()), 20, TimeUnit.NANOSECONDS);
    time.advance(Duration.ofNanos(9));
    assertThat(ran).isEmpty();
    assertThat(time.nanoTime()).isEqualTo(509);
    time.advance(Duration.ofNanos(100));
    assertThat(ran).containsExactly("a@510", "b@520", "c@520");
    assertThat(time.nanoTime()).isEqualTo(609);
    assertThat(time.pendingTasks()).isZero();
  }

  @Test
  void aCancelledTaskNeverRunsAndATaskMayScheduleAnotherThatFallsDueInTheSameAdvance() {
    ScheduledFuture<?> cancelled = time.schedule(() -> ran.add("cancelled"), 5, TimeUnit.SECONDS);
    time.schedule(
        () -> time.schedule(() -> ran.add("second"), 1, TimeUnit.SECONDS), 1, TimeUnit.SECONDS);
    assertThat(cancelled.cancel(false)).isTrue();
    assertThat(time.pendingTasks()).isEqualTo(1);
    time.advance(Duration.ofSeconds(10));
    assertThat(ran).containsExactly("second");
  }

  @Test
  void aTaskThatThrowsFailsTheAdvance() {
    time.schedule(
        () -> {
          throw new AssertionError("callback assertion");
        },
        1,
        TimeUnit.MILLISECONDS);
    assertThatThrownBy(() -> time.advance(Duration.ofSeconds(1)))
        .isInstanceOf(AssertionError.class)
        .hasMessage("callback assertion");
  }
}
