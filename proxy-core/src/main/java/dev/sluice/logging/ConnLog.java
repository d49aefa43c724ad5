package dev.sluice.logging;

import org.slf4j.Logger;
import org.slf4j.MDC;
import org.slf4j.event.Level;

/**
 * Log lines that carry a connection id in the MDC key {@code conn}. The id is set around the one
 * call instead of on every read, so the relay path pays nothing for it.
 */
public final class ConnLog {
  public static final String KEY = "conn";

  private ConnLog() {}

  public static void info(Logger log, String conn, String format, Object... args) {
    if (log.isInfoEnabled()) {
      MDC.put(KEY, conn);
      try {
        log.info(format, args);
      } finally {
        MDC.remove(KEY);
      }
    }
  }

  public static void debug(Logger log, String conn, String format, Object... args) {
    if (log.isDebugEnabled()) {
      MDC.put(KEY, conn);
      try {
        log.debug(format, args);
      } finally {
        MDC.remove(KEY);
      }
    }
  }

  public static void warn(Logger log, String conn, String format, Object... args) {
    if (log.isWarnEnabled()) {
      MDC.put(KEY, conn);
      try {
        log.warn(format, args);
      } finally {
        MDC.remove(KEY);
      }
    }
  }

  /**
   * Writes "{@code event}: details" unless {@code event} already happened within the throttle's
   * window; then it is only counted, and summed up in one line when the window ends.
   */
  public static void throttled(
      LogThrottle throttle,
      Level level,
      Logger log,
      String conn,
      String event,
      String detailFormat,
      Object... args) {
    if (!throttle.admit(event, log, level)) {
      return;
    }
    MDC.put(KEY, conn);
    try {
      log.atLevel(level).log(event + ": " + detailFormat, args);
    } finally {
      MDC.remove(KEY);
    }
  }

  /** Milliseconds since {@code startNanos}, for "closed after N ms" lines. */
  public static long ageMillis(long startNanos) {
    return (System.nanoTime() - startNanos) / 1_000_000;
  }
}
