package dev.sluice.testing;

import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;

/**
 * The parts of a libpq connection URI ({@code postgres://user:password@host:port/database}) that
 * the harness needs. Query parameters (sslmode, ...) are ignored: the harness talks to test servers
 * in plain TCP. Missing parts take libpq's defaults: user {@code postgres}, port 5432, database
 * {@code postgres}.
 */
record PostgresUri(String user, String password, String host, int port, String database) {
  private static final int DEFAULT_PORT = 5432;

  static PostgresUri parse(String text) {
    URI uri;
    try {
      uri = new URI(text.trim());
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException("not a postgres:// URI: " + redact(text), e);
    }
    if (!"postgres".equals(uri.getScheme()) && !"postgresql".equals(uri.getScheme())) {
      throw new IllegalArgumentException(
          "expected a postgres:// or postgresql:// URI, got: " + redact(text));
    }
    if (uri.getHost() == null) {
      throw new IllegalArgumentException("URI names no host: " + redact(text));
    }
    String userInfo = uri.getRawUserInfo() == null ? "" : uri.getRawUserInfo();
    int colon = userInfo.indexOf(':');
    String user = decode(colon < 0 ? userInfo : userInfo.substring(0, colon));
    String password = colon < 0 ? "" : decode(userInfo.substring(colon + 1));
    String path = uri.getRawPath() == null ? "" : uri.getRawPath().replaceFirst("^/", "");
    return new PostgresUri(
        user.isEmpty() ? "postgres" : user,
        password,
        uri.getHost().replaceAll("^\\[|]$", ""),
        uri.getPort() < 0 ? DEFAULT_PORT : uri.getPort(),
        path.isEmpty() ? "postgres" : decode(path));
  }

  @Override
  public String toString() {
    return "postgres://" + user + ":***@" + host + ":" + port + "/" + database;
  }

  /** Keeps a password out of error messages: everything between "://" and "@" is hidden. */
  private static String redact(String text) {
    return text.replaceFirst("://[^@/]*@", "://***@");
  }

  /** Percent-decoding as in RFC 3986; unlike URLDecoder, '+' stays a plus sign. */
  private static String decode(String raw) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(raw.length());
    for (int i = 0; i < raw.length(); i++) {
      char c = raw.charAt(i);
      if (c == '%' && i + 2 < raw.length()) {
        bytes.write(Integer.parseInt(raw.substring(i + 1, i + 3), 16));
        i += 2;
      } else {
        bytes.writeBytes(String.valueOf(c).getBytes(StandardCharsets.UTF_8));
      }
    }
    return bytes.toString(StandardCharsets.UTF_8);
  }
}
