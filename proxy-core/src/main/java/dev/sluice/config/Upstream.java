package dev.sluice.config;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * The database Sluice pools connections to and the credentials it logs in with. Parsed from a libpq
 * connection URI or key/value string by {@link UpstreamUrl}. In the default authentication model
 * these same credentials are what clients must present to Sluice.
 *
 * @param hosts one or more endpoints, tried in order
 * @param database the default database for clients that name none
 * @param user the role Sluice logs in as
 * @param password the role's password; {@code null} when the server needs none
 * @param sslMode libpq sslmode semantics
 * @param parameters other libpq parameters given (application_name, options, connect_timeout, ...)
 */
public record Upstream(
    List<HostAndPort> hosts,
    String database,
    String user,
    String password,
    SslMode sslMode,
    Map<String, String> parameters) {

  public Upstream {
    hosts = List.copyOf(hosts);
    if (hosts.isEmpty()) {
      throw new IllegalArgumentException("no upstream host");
    }
    Objects.requireNonNull(user, "user");
    database = database == null || database.isEmpty() ? user : database;
    sslMode = sslMode == null ? SslMode.PREFER : sslMode;
    parameters = Map.copyOf(parameters);
  }

  public HostAndPort primary() {
    return hosts.get(0);
  }

  /** The URI form with the password masked: safe for logs and status output. */
  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder("postgres://").append(user);
    if (password != null) {
      sb.append(":****");
    }
    sb.append('@');
    for (int i = 0; i < hosts.size(); i++) {
      sb.append(i == 0 ? "" : ",").append(hosts.get(i));
    }
    sb.append('/').append(database).append("?sslmode=").append(sslMode.flagValue());
    return sb.toString();
  }

  /** libpq's sslmode values. */
  public enum SslMode {
    DISABLE,
    ALLOW,
    PREFER,
    REQUIRE,
    VERIFY_CA,
    VERIFY_FULL;

    public String flagValue() {
      return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    public static SslMode parse(String key, String text) {
      String t = text.trim().toLowerCase(Locale.ROOT);
      for (SslMode m : values()) {
        if (m.flagValue().equals(t)) {
          return m;
        }
      }
      throw new ConfigException(
          key, text, "expected disable, allow, prefer, require, verify-ca or verify-full");
    }
  }
}
