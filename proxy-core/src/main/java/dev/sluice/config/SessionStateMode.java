package dev.sluice.config;

import java.util.Locale;

/** What transaction pooling does with a client whose SQL leaves session state on its backend. */
public enum SessionStateMode {
  /** Keep the client on its backend until it disconnects (counted and logged once). */
  PIN,
  /** Refuse the statement with 0A000, naming the statement and the flag. */
  REJECT;

  public static SessionStateMode parse(String key, String text) {
    try {
      return valueOf(text.trim().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new ConfigException(key, text, "expected pin or reject");
    }
  }

  public String flagValue() {
    return name().toLowerCase(Locale.ROOT);
  }
}
