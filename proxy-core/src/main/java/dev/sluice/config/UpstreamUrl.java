package dev.sluice.config;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Reads the upstream database from the strings operators already have: the two connection-string
 * forms of libpq, or libpq's environment variables.
 *
 * <ul>
 *   <li>URI: {@code
 *       postgres[ql]://[user[:password]@][host[:port][,host[:port]...]][/dbname][?k=v&...]} with
 *       percent-encoding anywhere and bracketed IPv6 hosts;
 *   <li>key/value: {@code host=db port=5432 user=app password='it\'s' dbname=app}, where a value is
 *       single-quoted to hold spaces and a backslash escapes the next character.
 * </ul>
 *
 * <p>Both forms become libpq keywords first ({@code host}, {@code port}, {@code user}, ...) and one
 * method turns keywords into an {@link Upstream}, so the forms cannot drift apart. Deliberate
 * differences from libpq: Unix-domain sockets are refused and a missing host means {@code
 * localhost}; unknown keywords are kept in {@link Upstream#parameters()} instead of rejected; in a
 * URI the <em>last</em> {@code @} before the query ends the user info, so a password with an
 * unencoded {@code @} or {@code /} still parses instead of leaking into the host name.
 *
 * <p>An error never shows a password: the text it echoes has the password replaced by {@code ****}.
 */
public final class UpstreamUrl {
  private static final int DEFAULT_PORT = 5432;
  private static final String MASK = "****";
  private static final String DEFAULT_HOST = "localhost";

  /** A key/value password: quoted, or unquoted up to the next {@code keyword=}. */
  private static final Pattern KV_PASSWORD =
      Pattern.compile(
          "(password\\s*=?\\s*)('(?:[^'\\\\]|\\\\.?)*'?|(?:(?!\\s+[A-Za-z_]+\\s*=).)+)",
          Pattern.CASE_INSENSITIVE | Pattern.DOTALL);

  private static final Pattern QUERY_PASSWORD =
      Pattern.compile("([?&][a-z_]*password=)[^&]*", Pattern.CASE_INSENSITIVE);

  /**
   * A URI of some other scheme ({@code jdbc:postgresql:}, {@code mysql:}); a keyword never has ':'.
   */
  private static final Pattern SCHEME = Pattern.compile("[A-Za-z][A-Za-z0-9+.-]*:");

  private static final Set<String> SESSION_ATTRS =
      Set.of("any", "read-write", "read-only", "primary", "standby", "prefer-standby");

  /** libpq's environment variables, in the order their errors are reported. */
  private static final Map<String, String> ENV_KEYWORDS = envKeywords();

  private UpstreamUrl() {}

  /** Builds an error for a libpq keyword; {@code item} is the offending piece, or null. */
  @FunctionalInterface
  interface Blame {
    ConfigException at(String keyword, String item, String problem);
  }

  /**
   * Parses a libpq URI or key/value string.
   *
   * @param key the flag or environment variable the text came from, named in errors
   * @throws ConfigException naming {@code key} and the text with its password masked
   */
  public static Upstream parse(String key, String text) {
    String t = text == null ? "" : text.strip();
    boolean uri = isUri(t);
    String masked = mask(t);
    Blame blame =
        (keyword, item, problem) ->
            new ConfigException(key, masked, explain(keyword, item, problem, masked));
    if (!uri && SCHEME.matcher(t).lookingAt()) {
      throw blame.at(null, null, "expected a postgres:// or postgresql:// URI, or key=value pairs");
    }
    return toUpstream(uri ? uriKeywords(t, blame) : ConnInfoSyntax.keywords(t, blame), blame);
  }

  /**
   * The upstream named by the environment: {@code SLUICE_UPSTREAM}, else {@code DATABASE_URL}, else
   * libpq's {@code PG*} variables when {@code PGHOST} or {@code PGUSER} is set (a missing {@code
   * PGUSER} falls back to {@code USER}, as in libpq). Blank variables count as unset.
   *
   * @throws ConfigException naming the variable whose value is wrong
   */
  public static Optional<Upstream> fromEnvironment(Map<String, String> env) {
    for (String name : List.of("SLUICE_UPSTREAM", "DATABASE_URL")) {
      String value = env.get(name);
      if (!isBlank(value)) {
        return Optional.of(parse(name, value));
      }
    }
    if (isBlank(env.get("PGHOST")) && isBlank(env.get("PGUSER"))) {
      return Optional.empty();
    }
    Map<String, String> keywords = new LinkedHashMap<>();
    Map<String, String> sources = new LinkedHashMap<>();
    ENV_KEYWORDS.forEach(
        (variable, keyword) -> {
          if (!isBlank(env.get(variable))) {
            keywords.put(keyword, env.get(variable));
            sources.put(keyword, variable);
          }
        });
    if (!keywords.containsKey("user") && !isBlank(env.get("USER"))) {
      keywords.put("user", env.get("USER"));
      sources.put("user", "USER");
    }
    Blame blame =
        (keyword, item, problem) -> {
          String variable = sources.getOrDefault(keyword, "PGUSER");
          String value = env.getOrDefault(variable, "");
          return new ConfigException(variable, value, explain(keyword, item, problem, value));
        };
    return Optional.of(toUpstream(keywords, blame));
  }

  /** {@code text} with any password replaced by {@code ****}; safe to log or print. */
  public static String mask(String text) {
    if (text == null) {
      return "";
    }
    if (!isUri(text.strip())) {
      return KV_PASSWORD.matcher(text).replaceAll("$1" + MASK);
    }
    int start = text.indexOf("://") + 3;
    String rest = text.substring(start);
    int query = rest.indexOf('?');
    int at = rest.lastIndexOf('@', query < 0 ? rest.length() : query);
    at = at < 0 ? rest.lastIndexOf('@') : at;
    int colon = rest.indexOf(':');
    if (colon >= 0 && colon < at) {
      rest = rest.substring(0, colon + 1) + MASK + rest.substring(at);
    }
    return text.substring(0, start) + QUERY_PASSWORD.matcher(rest).replaceAll("$1" + MASK);
  }

  private static boolean isUri(String t) {
    String lower = t.toLowerCase(Locale.ROOT);
    return lower.startsWith("postgres://") || lower.startsWith("postgresql://");
  }

  /**
   * The parenthesised part of an error. The offending piece is echoed only when it already appears
   * in the masked text and is no password, so a mis-split password cannot leak through it.
   */
  private static String explain(String keyword, String item, String problem, String shown) {
    boolean secret = keyword != null && keyword.toLowerCase(Locale.ROOT).contains("password");
    if (keyword == null || item == null || secret || !shown.contains(item) || item.equals(shown)) {
      return problem;
    }
    return keyword + " '" + item + "': " + problem;
  }

  private static Map<String, String> uriKeywords(String t, Blame blame) {
    Map<String, String> keywords = new LinkedHashMap<>();
    String rest = t.substring(t.indexOf("://") + 3);
    int q = rest.indexOf('?');
    String beforeQuery = q < 0 ? rest : rest.substring(0, q);
    int at = beforeQuery.lastIndexOf('@');
    if (at >= 0) {
      String userInfo = beforeQuery.substring(0, at);
      int colon = userInfo.indexOf(':');
      keywords.put(
          "user", decode(colon < 0 ? userInfo : userInfo.substring(0, colon), "user", blame));
      if (colon >= 0) {
        keywords.put("password", decode(userInfo.substring(colon + 1), "password", blame));
      }
      beforeQuery = beforeQuery.substring(at + 1);
    }
    int slash = beforeQuery.indexOf('/');
    hostKeywords(slash < 0 ? beforeQuery : beforeQuery.substring(0, slash), keywords, blame);
    if (slash >= 0) {
      keywords.put("dbname", decode(beforeQuery.substring(slash + 1), "dbname", blame));
    }
    if (q >= 0) {
      queryKeywords(rest.substring(q + 1), keywords, blame);
    }
    return keywords;
  }

  /** {@code h1:5432,[::1]:5433,h3} becomes {@code host=h1,::1,h3 port=5432,5433,}. */
  private static void hostKeywords(String netloc, Map<String, String> keywords, Blame blame) {
    if (netloc.isEmpty()) {
      return;
    }
    List<String> hosts = new ArrayList<>();
    List<String> ports = new ArrayList<>();
    for (String element : netloc.split(",", -1)) {
      String host = element;
      String port = "";
      if (element.startsWith("[")) {
        int close = element.indexOf(']');
        String after = close < 0 ? "" : element.substring(close + 1);
        if (close < 0 || !(after.isEmpty() || after.startsWith(":"))) {
          throw blame.at("host", element, "expected [IPv6 address] or [IPv6 address]:port");
        }
        host = element.substring(1, close);
        port = after.isEmpty() ? "" : after.substring(1);
      } else if (element.indexOf(':') >= 0) {
        host = element.substring(0, element.indexOf(':'));
        port = element.substring(element.indexOf(':') + 1);
      }
      hosts.add(decode(host, "host", blame));
      ports.add(port);
    }
    keywords.put("host", String.join(",", hosts));
    if (ports.stream().anyMatch(p -> !p.isEmpty())) {
      keywords.put("port", String.join(",", ports));
    }
  }

  private static void queryKeywords(String query, Map<String, String> keywords, Blame blame) {
    for (String pair : query.split("&")) {
      if (pair.isEmpty()) {
        continue;
      }
      int eq = pair.indexOf('=');
      if (eq <= 0) {
        throw blame.at("query parameter", pair, "expected name=value");
      }
      String name = decode(pair.substring(0, eq), "query parameter", blame);
      String value = decode(pair.substring(eq + 1), name, blame);
      if (name.equals("ssl")) {
        // libpq's nod to JDBC URLs: ssl=true means sslmode=require.
        if (!value.equals("true")) {
          throw blame.at("ssl", value, "only ssl=true is understood; use sslmode");
        }
        keywords.put("sslmode", "require");
      } else {
        keywords.put(name, value);
      }
    }
  }

  private static Upstream toUpstream(Map<String, String> keywords, Blame blame) {
    Map<String, String> rest = new LinkedHashMap<>(keywords);
    String user = rest.remove("user");
    if (isBlank(user)) {
      throw blame.at("user", null, "a user is required");
    }
    String password = rest.remove("password");
    String database = rest.remove("dbname");
    String sslText = rest.remove("sslmode");
    Upstream.SslMode sslMode = sslText == null ? null : sslMode(sslText, blame);
    String hostSpec = rest.remove("host");
    if (isBlank(hostSpec) && rest.containsKey("hostaddr")) {
      hostSpec = rest.remove("hostaddr");
    }
    List<HostAndPort> hosts = hosts(hostSpec, rest.remove("port"), blame);
    String timeout = rest.get("connect_timeout");
    if (timeout != null && !timeout.strip().matches("\\d{1,9}")) {
      throw blame.at("connect_timeout", timeout, "expected a whole number of seconds");
    }
    String attrs = rest.get("target_session_attrs");
    if (attrs != null && !SESSION_ATTRS.contains(attrs)) {
      throw blame.at(
          "target_session_attrs",
          attrs,
          "expected any, read-write, read-only, primary, standby or prefer-standby");
    }
    return new Upstream(hosts, database, user, isBlank(password) ? null : password, sslMode, rest);
  }

  private static Upstream.SslMode sslMode(String text, Blame blame) {
    try {
      return Upstream.SslMode.parse("sslmode", text);
    } catch (ConfigException e) {
      throw blame.at(
          "sslmode", text, "expected disable, allow, prefer, require, verify-ca or verify-full");
    }
  }

  /** Pairs hosts with ports as libpq does: no port, one port for all, or one per host. */
  private static List<HostAndPort> hosts(String hostSpec, String portSpec, Blame blame) {
    String[] names = (hostSpec == null ? "" : hostSpec).split(",", -1);
    String[] ports = isBlank(portSpec) ? new String[0] : portSpec.split(",", -1);
    if (ports.length > 1 && ports.length != names.length) {
      throw blame.at(
          "port",
          portSpec,
          ports.length
              + " ports for "
              + names.length
              + (names.length == 1 ? " host" : " hosts")
              + "; give one port, or one per host");
    }
    List<HostAndPort> hosts = new ArrayList<>();
    for (int i = 0; i < names.length; i++) {
      String name = names[i].strip();
      if (name.startsWith("[") && name.endsWith("]")) {
        name = name.substring(1, name.length() - 1);
      }
      if (name.startsWith("/")) {
        throw blame.at(
            "host", name, "Unix-domain sockets are not supported; give a TCP host name or address");
      }
      String port = ports.length == 0 ? "" : ports[ports.length == 1 ? 0 : i];
      hosts.add(new HostAndPort(name.isEmpty() ? DEFAULT_HOST : name, port(port, blame)));
    }
    return hosts;
  }

  private static int port(String text, Blame blame) {
    String t = text.strip();
    if (t.isEmpty()) {
      return DEFAULT_PORT;
    }
    int port = t.matches("\\d{1,5}") ? Integer.parseInt(t) : -1;
    if (port < 1 || port > 65535) {
      String hint = t.indexOf(':') >= 0 ? "; IPv6 addresses need brackets, as in [::1]:5432" : "";
      throw blame.at("port", t, "expected a number between 1 and 65535" + hint);
    }
    return port;
  }

  /** RFC 3986 percent-decoding as libpq does it: '+' stays '+', %00 is refused. */
  private static String decode(String text, String keyword, Blame blame) {
    if (text.indexOf('%') < 0) {
      return text;
    }
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(text.length());
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c != '%') {
        byte[] b = String.valueOf(c).getBytes(StandardCharsets.UTF_8);
        bytes.write(b, 0, b.length);
        continue;
      }
      int hi = i + 2 < text.length() ? hex(text.charAt(i + 1)) : -1;
      int lo = i + 2 < text.length() ? hex(text.charAt(i + 2)) : -1;
      if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
        throw blame.at(keyword, text, "bad percent-encoding; write %XX with two hex digits");
      }
      bytes.write(hi * 16 + lo);
      i += 2;
    }
    return bytes.toString(StandardCharsets.UTF_8);
  }

  private static int hex(char c) {
    return c < 128 ? Character.digit(c, 16) : -1;
  }

  private static boolean isBlank(String s) {
    return s == null || s.isBlank();
  }

  private static Map<String, String> envKeywords() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("PGHOST", "host");
    m.put("PGPORT", "port");
    m.put("PGUSER", "user");
    m.put("PGPASSWORD", "password");
    m.put("PGDATABASE", "dbname");
    m.put("PGSSLMODE", "sslmode");
    m.put("PGAPPNAME", "application_name");
    m.put("PGOPTIONS", "options");
    m.put("PGCONNECT_TIMEOUT", "connect_timeout");
    m.put("PGTARGETSESSIONATTRS", "target_session_attrs");
    return m;
  }
}
