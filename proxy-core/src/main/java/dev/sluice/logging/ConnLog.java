package dev.sluice.logging;

import org.slf4j.Logger;
import org.slf4j.MDC;
import org.slf4j.event.Level;

/**
 * Log lines that carry their connection in the MDC: the id under {@code conn} and, given a {@link
 * LogContext}, the database under {@code db}, the role under {@code user} and a backend's
 * PostgreSQL process id under {@code pid} (each only once known). The keys are set around the one
 * call instead of on every read, so the relay path pays nothing for them.
 */
public final class ConnLog {
  public static final String KEY = "conn";
  public static final String DATABASE = "db";
  public static final String USER = "user";
  public static final String PID = "pid";

  private ConnLog() {}

  public static void info(Logger log, String conn, String format, Object... args) {
    if (log.isInfoEnabled()) {
      write(log, Level.INFO, LogContext.of(conn), format, args);
    }
  }

  public static void info(Logger log, LogContext conn, String format, Object... args) {
    if (log.isInfoEnabled()) {
      write(log, Level.INFO, conn, format, args);
    }
  }

  public static void debug(Logger log, String conn, String format, Object... args) {
    if (log.isDebugEnabled()) {
      write(log, Level.DEBUG, LogContext.of(conn), format, args);
    }
  }

  public static void debug(Logger log, LogContext conn, String format, Object... args) {
    if (log.isDebugEnabled()) {
      write(log, Level.DEBUG, conn, format, args);
    }
  }

  public static void warn(Logger log, String conn, String format, Object... args) {
    if (log.isWarnEnabled()) {
      write(log, Level.WARN, LogContext.of(conn), format, args);
    }
  }

  public static void warn(Logger log, LogContext conn, String format, Object... args) {
    if (log.isWarnEnabled()) {
      write(log, Level.WARN, conn, format, args);
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
    throttled(throttle, level, log, LogContext.of(conn), event, detailFormat, args);
  }

  /** As {@link #throttled(LogThrottle, Level, Logger, String, String, String, Object...)}. */
  public static void throttled(
      LogThrottle throttle,
      Level level,
      Logger log,
      LogContext conn,
      String event,
      String detailFormat,
      Object... args) {
    if (throttle.admit(event, log, level)) {
      write(log, level, conn, event + ": " + detailFormat, args);
    }
  }

  private static void write(
      Logger log, Level level, LogContext conn, String format, Object... args) {
    MDC.put(KEY, conn.id());
    putIfKnown(DATABASE, conn.database());
    putIfKnown(USER, conn.user());
    if (conn.pid() != 0) {
      MDC.put(PID, Integer.toString(conn.pid()));
    }
    try {
      log.atLevel(level).log(format, args);
    } finally {
      MDC.remove(KEY);
      MDC.remove(DATABASE);
      MDC.remove(USER);
      MDC.remove(PID);
    }
  }

  private static void putIfKnown(String key, String value) {
    if (value != null) {
      MDC.put(key, value);
    }
  }

  /** Milliseconds since {@code startNanos}, for "closed after N ms" lines. */
  public static long ageMillis(long startNanos) {
    return (System.nanoTime() - startNanos) / 1_000_000;
  }
}
