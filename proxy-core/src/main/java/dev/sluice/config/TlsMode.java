package dev.sluice.config;

import java.util.Locale;

/** TLS from clients to Sluice. */
public enum TlsMode {
  /** SSLRequest is answered 'N': clients go on in plain text. */
  DISABLE,
  /** TLS for clients that ask for it (needs a certificate), plain text for the others. */
  ALLOW,
  /** Clients that do not ask for TLS are refused (28000). */
  REQUIRE;

  public String flagValue() {
    return name().toLowerCase(Locale.ROOT);
  }

  public static TlsMode parse(String key, String text) {
    String t = text.trim().toLowerCase(Locale.ROOT);
    for (TlsMode m : values()) {
      if (m.flagValue().equals(t)) {
        return m;
      }
    }
    throw new ConfigException(key, text, "expected disable, allow or require");
  }
}
