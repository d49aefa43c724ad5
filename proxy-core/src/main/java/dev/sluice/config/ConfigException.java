package dev.sluice.config;

/**
 * A configuration value that Sluice refuses. The message is one line that names the setting, the
 * rejected value and what would be valid, so the CLI can print it as-is instead of a stack trace.
 */
public final class ConfigException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final String key;

  public ConfigException(String key, String value, String expected) {
    super("invalid value for " + key + ": '" + value + "' (" + expected + ")");
    this.key = key;
  }

  /** The setting that was rejected, spelled as the flag (for example {@code --pool-size}). */
  public String key() {
    return key;
  }
}
