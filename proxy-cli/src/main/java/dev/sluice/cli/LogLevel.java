package dev.sluice.cli;

import ch.qos.logback.classic.Level;
import dev.sluice.config.ConfigException;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The root log level {@code --log-level} sets. */
enum LogLevel {
  TRACE,
  DEBUG,
  INFO,
  WARN,
  ERROR,
  OFF;

  static LogLevel parse(String key, String text) {
    String wanted = text.strip().toUpperCase(Locale.ROOT);
    for (LogLevel level : values()) {
      if (level.name().equals(wanted)) {
        return level;
      }
    }
    throw new ConfigException(key, text, "expected trace, debug, info, warn, error or off");
  }

  String flagValue() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Sets Logback's root level; a no-op if another SLF4J binding is on the class path. */
  void applyToRootLogger() {
    Logger root = LoggerFactory.getLogger(Logger.ROOT_LOGGER_NAME);
    if (root instanceof ch.qos.logback.classic.Logger logback) {
      logback.setLevel(Level.toLevel(name()));
    }
  }
}
