package dev.sluice.cli;

import dev.sluice.config.ConfigException;
import java.util.Locale;

/**
 * How log lines on stderr look ({@code --log-format}): text for a person at a terminal, one JSON
 * object per line for a log collector. {@link #AUTO}, the default, picks JSON in a container and
 * text elsewhere, resolved at start by {@link Container}.
 */
enum LogFormat {
  TEXT,
  JSON,
  AUTO;

  static LogFormat parse(String key, String text) {
    String wanted = text.strip().toUpperCase(Locale.ROOT);
    for (LogFormat format : values()) {
      if (format.name().equals(wanted)) {
        return format;
      }
    }
    throw new ConfigException(key, text, "expected text, json or auto");
  }

  String flagValue() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** TEXT or JSON: AUTO becomes JSON when {@code inContainer}, TEXT otherwise. */
  LogFormat resolve(boolean inContainer) {
    if (this != AUTO) {
      return this;
    }
    return inContainer ? JSON : TEXT;
  }
}
