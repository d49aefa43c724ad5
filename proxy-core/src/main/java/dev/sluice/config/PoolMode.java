package dev.sluice.config;

import java.util.Locale;

/** How long a client keeps the backend it was given. */
public enum PoolMode {
  /** The backend is held from the first message of a transaction until it ends. */
  TRANSACTION,
  /** The backend is held until the client disconnects, then reset and returned. */
  SESSION;

  public static PoolMode parse(String key, String text) {
    try {
      return valueOf(text.trim().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new ConfigException(key, text, "expected transaction or session");
    }
  }

  public String flagValue() {
    return name().toLowerCase(Locale.ROOT);
  }
}
