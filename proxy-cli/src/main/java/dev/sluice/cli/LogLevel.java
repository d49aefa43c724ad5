package dev.sluice.cli;

import dev.sluice.config.ConfigException;
import java.util.Locale;

/** The root log level {@code --log-level} sets; {@link Logging} applies it. */
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
}
