package dev.sluice.server;

import org.slf4j.Logger;
import org.slf4j.MDC;

/**
 * Log lines that carry a connection id in the MDC key {@code conn}. The id is set around the one
 * call instead of on every read, so the relay path pays nothing for it.
 */
final class ConnLog {
  static final String KEY = "conn";

  private ConnLog() {}

  static void info(Logger log, String conn, String format, Object... args) {
    if (log.isInfoEnabled()) {
      MDC.put(KEY, conn);
      try {
        log.info(format, args);
      } finally {
        MDC.remove(KEY);
      }
    }
  }

  static void debug(Logger log, String conn, String format, Object... args) {
    if (log.isDebugEnabled()) {
      MDC.put(KEY, conn);
      try {
        log.debug(format, args);
      } finally {
        MDC.remove(KEY);
      }
    }
  }

  static void warn(Logger log, String conn, String format, Object... args) {
    if (log.isWarnEnabled()) {
      MDC.put(KEY, conn);
      try {
        log.warn(format, args);
      } finally {
        MDC.remove(KEY);
      }
    }
  }

  /** Milliseconds since {@code startNanos}, for "closed after N ms" lines. */
  static long ageMillis(long startNanos) {
    return (System.nanoTime() - startNanos) / 1_000_000;
  }
}
