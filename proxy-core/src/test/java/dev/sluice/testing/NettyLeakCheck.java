package dev.sluice.testing;

import java.time.Duration;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Fails a test class when Netty reports a leaked buffer. Registered for every test class of every
 * module through {@code META-INF/services} and {@code junit-platform.properties} (extension
 * autodetection), so it is loaded with the test engine, before any test allocates a buffer.
 *
 * <p>After each top-level test class it collects garbage until Netty has reported every buffer that
 * is unreachable by then (see {@link LeakReports#collect}), and fails the class if any was never
 * released. A buffer is reported once it is garbage, which may be later than the class that leaked
 * it finished (a server still closing, say): the failure says so, and the leak's access records
 * tell where it was allocated and last used.
 */
public final class NettyLeakCheck implements AfterAllCallback {
  private static final Duration COLLECT_TIMEOUT = Duration.ofSeconds(10);

  static {
    LeakReports.install();
  }

  @Override
  public void afterAll(ExtensionContext context) {
    if (!isTopLevelClass(context)) {
      return; // its enclosing class checks, once, after all of its nested classes
    }
    LeakReports.collect(COLLECT_TIMEOUT);
    List<LeakReports.Leak> leaks = LeakReports.drain();
    if (!leaks.isEmpty()) {
      throw new AssertionError(
          leaks.size()
              + " leaked Netty buffer(s) reported after "
              + context.getRequiredTestClass().getName()
              + " (this class or one run before it in this JVM never released them):\n"
              + leaks.stream().map(LeakReports.Leak::toString).collect(Collectors.joining("\n")));
    }
  }

  private static boolean isTopLevelClass(ExtensionContext context) {
    return context.getParent().map(parent -> parent.equals(context.getRoot())).orElse(false);
  }
}
