package dev.sluice.config;

/** A TCP endpoint as written on the command line: {@code host:port}, {@code [v6addr]:port}. */
public record HostAndPort(String host, int port) {

  public HostAndPort {
    if (host == null || host.isEmpty()) {
      throw new IllegalArgumentException("host is empty");
    }
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("port out of range: " + port);
    }
  }

  /** Parses {@code host:port}; port 0 asks the operating system for a free port. */
  public static HostAndPort parse(String key, String text) {
    String expected = "expected HOST:PORT, for example 127.0.0.1:6432 or [::1]:6432";
    String t = text == null ? "" : text.trim();
    int colon = t.lastIndexOf(':');
    if (colon <= 0 || colon == t.length() - 1) {
      throw new ConfigException(key, String.valueOf(text), expected);
    }
    String host = t.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    } else if (host.indexOf(':') >= 0) {
      throw new ConfigException(key, text, "IPv6 addresses need brackets, as in [::1]:6432");
    }
    int port;
    try {
      port = Integer.parseInt(t.substring(colon + 1));
    } catch (NumberFormatException e) {
      throw new ConfigException(key, text, expected);
    }
    if (port < 0 || port > 65535 || host.isEmpty()) {
      throw new ConfigException(key, text, "port must be between 0 and 65535");
    }
    return new HostAndPort(host, port);
  }

  @Override
  public String toString() {
    return host.indexOf(':') >= 0 ? "[" + host + "]:" + port : host + ":" + port;
  }
}
