package dev.sluice.server.invalidation;

import dev.sluice.config.HostAndPort;
import dev.sluice.config.Upstream;
import dev.sluice.config.Upstream.SslMode;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Properties;
import org.postgresql.PGConnection;

/**
 * The upstream as pgjdbc sees it, for the cache's invalidation sources, which talk to PostgreSQL
 * through the driver rather than through Sluice's own backends (LISTEN and logical replication need
 * a connection of their own that no pool may hand out).
 *
 * <ul>
 *   <li>All hosts go into the URL, tried in order with {@code targetServerType=primary}: a standby
 *       can neither LISTEN nor decode WAL for us, whatever {@code target_session_attrs} says.
 *   <li>{@code sslmode} keeps libpq's meaning, as {@code BackendTls} gives it: {@code require} with
 *       an {@code sslrootcert} verifies the chain; {@code verify-*} without one (or with {@code
 *       sslrootcert=system}) trusts the JDK's roots instead of pgjdbc's {@code
 *       ~/.postgresql/root.crt}. {@code sslcert}/{@code sslkey}, {@code connect_timeout} and {@code
 *       options} are passed on.
 *   <li>The session is named {@value #APPLICATION_NAME} so that an operator can tell these
 *       connections apart in {@code pg_stat_activity}.
 * </ul>
 *
 * <p>The properties hold the password: never log them. {@link Upstream#toString()} is safe.
 */
public final class UpstreamJdbc {
  public static final String APPLICATION_NAME = "sluice-cache-invalidation";

  private static final String DEFAULT_CONNECT_TIMEOUT_SECONDS = "10";

  /** A read that waits longer than this on a plain connection means the path is dead. */
  static final int SOCKET_TIMEOUT_SECONDS = 30;

  private UpstreamJdbc() {}

  /** {@code jdbc:postgresql://h1:p1,h2:p2/db}, with IPv6 hosts in brackets. */
  public static String url(Upstream upstream) {
    StringBuilder sb = new StringBuilder("jdbc:postgresql://");
    for (int i = 0; i < upstream.hosts().size(); i++) {
      HostAndPort h = upstream.hosts().get(i);
      String host = h.host().indexOf(':') >= 0 ? "[" + h.host() + "]" : h.host();
      sb.append(i == 0 ? "" : ",").append(host).append(':').append(h.port());
    }
    String db = URLEncoder.encode(upstream.database(), StandardCharsets.UTF_8).replace("+", "%20");
    return sb.append('/').append(db).toString();
  }

  /** Properties for a plain session: LISTEN, catalog queries. */
  public static Properties properties(Upstream upstream) {
    Properties p = new Properties();
    p.setProperty("user", upstream.user());
    if (upstream.password() != null) {
      p.setProperty("password", upstream.password());
    }
    p.setProperty("ApplicationName", APPLICATION_NAME);
    p.setProperty("targetServerType", "primary");
    String timeout = upstream.parameters().get("connect_timeout");
    timeout =
        timeout == null || timeout.isBlank() ? DEFAULT_CONNECT_TIMEOUT_SECONDS : timeout.strip();
    p.setProperty("connectTimeout", timeout);
    p.setProperty("loginTimeout", timeout);
    p.setProperty("socketTimeout", Integer.toString(SOCKET_TIMEOUT_SECONDS));
    p.setProperty("tcpKeepAlive", "true");
    String options = upstream.parameters().get("options");
    if (options != null) {
      p.setProperty("options", options);
    }
    tls(upstream, p);
    return p;
  }

  /**
   * Properties for a logical replication session ({@code replication=database}): the simple query
   * protocol, which is all a walsender understands, and no version probing. The socket timeout is
   * left to pgjdbc's replication stream, which wakes at every status interval.
   */
  public static Properties replicationProperties(Upstream upstream) {
    Properties p = properties(upstream);
    p.remove("socketTimeout");
    p.setProperty("replication", "database");
    p.setProperty("assumeMinServerVersion", "10");
    p.setProperty("preferQueryMode", "simple");
    return p;
  }

  /** A plain session to the upstream's primary, autocommit on. */
  public static Connection connect(Upstream upstream) throws SQLException {
    return DriverManager.getConnection(url(upstream), properties(upstream));
  }

  /** A logical replication session to the upstream's primary. */
  public static Connection connectReplication(Upstream upstream) throws SQLException {
    Connection c = DriverManager.getConnection(url(upstream), replicationProperties(upstream));
    // Unwrapping checks that this is pgjdbc's connection, which the replication API needs.
    c.unwrap(PGConnection.class);
    return c;
  }

  private static void tls(Upstream upstream, Properties p) {
    SslMode mode = upstream.sslMode();
    String rootCert = upstream.parameters().get("sslrootcert");
    boolean systemRoots = rootCert == null || rootCert.equals("system");
    if (mode == SslMode.REQUIRE && rootCert != null) {
      // libpq: require with a root certificate behaves as verify-ca.
      mode = SslMode.VERIFY_CA;
    }
    p.setProperty("sslmode", mode.flagValue());
    boolean verifying = mode == SslMode.VERIFY_CA || mode == SslMode.VERIFY_FULL;
    if (verifying && systemRoots) {
      p.setProperty("sslfactory", "org.postgresql.ssl.DefaultJavaSSLFactory");
    } else if (!systemRoots) {
      p.setProperty("sslrootcert", rootCert);
    }
    for (String key : new String[] {"sslcert", "sslkey"}) {
      String value = upstream.parameters().get(key);
      if (value != null) {
        p.setProperty(key, value);
      }
    }
  }
}
