package dev.sluice.config;

import java.util.Locale;

/** How clients prove to Sluice that they know the upstream password. */
public enum ClientAuth {
  /** SCRAM-SHA-256: the password never crosses the wire. The default. */
  SCRAM_SHA_256("scram-sha-256"),
  /** MD5 challenge, as PostgreSQL's md5 method; weaker, kept for old clients. */
  MD5("md5"),
  /** The password in clear text; only when the operator asks for it (for example behind TLS). */
  PASSWORD("password");

  private final String flagValue;

  ClientAuth(String flagValue) {
    this.flagValue = flagValue;
  }

  public String flagValue() {
    return flagValue;
  }

  public static ClientAuth parse(String key, String text) {
    String wanted = text.trim().toLowerCase(Locale.ROOT);
    for (ClientAuth a : values()) {
      if (a.flagValue.equals(wanted)) {
        return a;
      }
    }
    throw new ConfigException(key, text, "expected scram-sha-256, md5 or password");
  }
}
