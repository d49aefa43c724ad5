package dev.sluice.logging;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.event.Level;

/**
 * Keeps repeated events from flooding the log. The first occurrence of an event is written in full
 * and opens a window; further occurrences within the window are only counted, and when the window
 * ends one line sums them up ("client login timed out … and 1999 more in the last 10 s"). The next
 * occurrence after that is written in full again.
 *
 * <pre>{@code
 * if (throttle.admit("client login timed out", log, Level.INFO)) {
 *   log.info("client login timed out: ...");   // the full line, with its details
 * }
 * }</pre>
 *
 * <p>Windows end when {@link #flush} runs (call it periodically) or when the same event comes again
 * after its window. Thread-safe; the lock is only taken on paths that log.
 */
public final class LogThrottle {
  private final long windowNanos;
  private final LongSupplier nanoClock;
  private final Map<String, Window> windows = new HashMap<>();

  private static final class Window {
    final long startNanos;
    final Logger log;
    final Level level;
    long suppressed;

    Window(long startNanos, Logger log, Level level) {
      this.startNanos = startNanos;
      this.log = log;
      this.level = level;
    }
  }

  /** A summary due for an event whose window ended with suppressed occurrences. */
  private record Summary(String event, Window window, long lastedNanos) {}

  public LogThrottle(long windowNanos, LongSupplier nanoClock) {
    if (windowNanos <= 0) {
      throw new IllegalArgumentException("window must be positive: " + windowNanos);
    }
    this.windowNanos = windowNanos;
    this.nanoClock = nanoClock;
  }

  /**
   * Records one occurrence of {@code event}.
   *
   * @return true when the caller should write its full line (the first in a window)
   */
  public boolean admit(String event, Logger log, Level level) {
    if (!log.isEnabledForLevel(level)) {
      return false;
    }
    Summary due = null;
    boolean first;
    synchronized (this) {
      long now = nanoClock.getAsLong();
      Window w = windows.get(event);
      if (w != null && now - w.startNanos >= windowNanos) {
        windows.remove(event);
        if (w.suppressed > 0) {
          due = new Summary(event, w, now - w.startNanos);
        }
        w = null;
      }
      first = w == null;
      if (first) {
        windows.put(event, new Window(now, log, level));
      } else {
        w.suppressed++;
      }
    }
    if (due != null) {
      write(due);
    }
    return first;
  }

  /** Ends the windows that are over and writes their summaries. */
  public void flush() {
    flush(false);
  }

  /** Ends every window now and writes the summaries due (at shutdown, so none is lost). */
  public void flushAll() {
    flush(true);
  }

  private void flush(boolean all) {
    List<Summary> due = new ArrayList<>();
    synchronized (this) {
      long now = nanoClock.getAsLong();
      Iterator<Map.Entry<String, Window>> it = windows.entrySet().iterator();
      while (it.hasNext()) {
        Map.Entry<String, Window> e = it.next();
        Window w = e.getValue();
        if (all || now - w.startNanos >= windowNanos) {
          it.remove();
          if (w.suppressed > 0) {
            due.add(new Summary(e.getKey(), w, now - w.startNanos));
          }
        }
      }
    }
    due.forEach(LogThrottle::write);
  }

  /** Occurrences counted but not yet summed up, over all events; for tests and diagnostics. */
  public synchronized long pending() {
    return windows.values().stream().mapToLong(w -> w.suppressed).sum();
  }

  private static void write(Summary s) {
    long seconds = Math.max(1, Math.round(s.lastedNanos() / 1e9));
    s.window()
        .log
        .atLevel(s.window().level)
        .log("{} … and {} more in the last {} s", s.event(), s.window().suppressed, seconds);
  }
}
