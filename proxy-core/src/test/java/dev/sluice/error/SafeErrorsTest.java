package dev.sluice.error;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class SafeErrorsTest {

  @Test
  void cyclicCauseGraphIsRenderedOnceAndTerminates() {
    RuntimeException a = new RuntimeException("a");
    RuntimeException b = new RuntimeException("b", a);
    a.initCause(b);
    String s = SafeErrors.describe(b);
    assertThat(s)
        .isEqualTo("java.lang.RuntimeException: b <- java.lang.RuntimeException: a <- (cycle)");
  }

  @Test
  void selfSuppressionAndDeepChainsAreBounded() {
    Throwable t = new IllegalStateException("root");
    for (int i = 0; i < 10_000; i++) {
      t = new RuntimeException("level " + i, t);
    }
    t.addSuppressed(new RuntimeException("s"));
    String s = SafeErrors.describe(t);
    assertThat(s).contains("[+1 suppressed]").endsWith(" <- ...");
    assertThat(s.split(" <- ")).hasSize(SafeErrors.MAX_DEPTH + 1);
  }

  @Test
  void hostileGetMessageDoesNotEscape() {
    Throwable t =
        new RuntimeException() {
          @Override
          public String getMessage() {
            throw new IllegalStateException("nope");
          }
        };
    assertThat(SafeErrors.describe(t)).contains("(message unavailable)");
    assertThat(SafeErrors.describe(null)).isEqualTo("null");
  }

  @Test
  void longMessagesAreCutAndNewlinesFlattened() {
    String s = SafeErrors.describe(new RuntimeException("x".repeat(2000) + "\nnext"));
    assertThat(s).doesNotContain("\n").hasSizeLessThan(600);
  }
}
