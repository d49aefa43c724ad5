package dev.sluice.logging;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

class LogThrottleTest {
  private static final long SECOND = 1_000_000_000L;
  private final AtomicLong now = new AtomicLong(42 * SECOND);
  private final LogThrottle throttle = new LogThrottle(10 * SECOND, now::get);
  private final Logger log = (Logger) LoggerFactory.getLogger("throttle-test");
  private final ListAppender<ILoggingEvent> lines = new ListAppender<>();

  @BeforeEach
  void capture() {
    lines.start();
    log.addAppender(lines);
  }

  @AfterEach
  void release() {
    log.detachAppender(lines);
  }

  private int admitted(String event, int times) {
    int n = 0;
    for (int i = 0; i < times; i++) {
      if (throttle.admit(event, log, Level.INFO)) {
        n++;
      }
    }
    return n;
  }

  @Test
  void aFloodIsOneFullLineAndOneSummary() {
    assertThat(admitted("client login timed out", 2000)).isEqualTo(1);
    assertThat(throttle.pending()).isEqualTo(1999);
    throttle.flush();
    assertThat(lines.list).isEmpty();
    now.addAndGet(10 * SECOND);
    throttle.flush();
    assertThat(lines.list)
        .extracting(ILoggingEvent::getFormattedMessage)
        .containsExactly("client login timed out … and 1999 more in the last 10 s");
    assertThat(throttle.pending()).isZero();
    // the next one after the window is written in full again
    assertThat(admitted("client login timed out", 1)).isEqualTo(1);
  }

  @Test
  void eventsAreCountedApartAndALoneEventHasNoSummary() {
    assertThat(admitted("a", 3)).isEqualTo(1);
    assertThat(admitted("b", 1)).isEqualTo(1);
    now.addAndGet(11 * SECOND);
    throttle.flush();
    assertThat(lines.list)
        .extracting(ILoggingEvent::getFormattedMessage)
        .containsExactly("a … and 2 more in the last 11 s");
  }

  @Test
  void theSameEventAfterItsWindowWritesTheSummaryFirst() {
    admitted("x", 5);
    now.addAndGet(12 * SECOND);
    assertThat(admitted("x", 1)).isEqualTo(1);
    assertThat(lines.list)
        .extracting(ILoggingEvent::getFormattedMessage)
        .containsExactly("x … and 4 more in the last 12 s");
  }

  @Test
  void flushAllWritesWhatIsPendingAtShutdown() {
    admitted("y", 3);
    now.addAndGet(2 * SECOND);
    throttle.flushAll();
    assertThat(lines.list)
        .extracting(ILoggingEvent::getFormattedMessage)
        .containsExactly("y … and 2 more in the last 2 s");
  }

  @Test
  void aDisabledLevelCountsNothing() {
    log.setLevel(ch.qos.logback.classic.Level.WARN);
    try {
      assertThat(admitted("quiet", 10)).isZero();
      assertThat(throttle.pending()).isZero();
    } finally {
      log.setLevel(null);
    }
  }
}
