package dev.sluice.session;

import dev.sluice.error.SluiceException;
import dev.sluice.error.SqlState;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.BinaryOperator;
import java.util.regex.Pattern;

/**
 * The settings one client's session should have, whichever backend serves it.
 *
 * <p>{@code desired} starts as the client's startup parameters (and {@code -c} options) and follows
 * every ParameterStatus the backend reports while serving this client, so a client's own {@code SET
 * application_name} or {@code SET TimeZone} moves with it to the next backend. Each backend carries
 * an {@code applied} map: the same kind of map, as Sluice last brought that backend in line. When a
 * backend is attached, {@link #syncQuery} yields one query that makes the backend match this
 * client: {@code set_config} for values that differ (with startup-parameter semantics, so list
 * values such as {@code search_path} parse as PostgreSQL parses them at login), {@code RESET} for
 * settings another client changed and this one never asked for.
 *
 * <p>Setting names are case-insensitive in PostgreSQL; {@code desired} and {@code applied} hold
 * them in lower case. {@code clientView} is the last value of each reported setting that this
 * client was told, so the client only sees a ParameterStatus when its own session's value changes.
 */
public final class SessionParameters {
  /** Startup keys that are not settings. */
  private static final Set<String> NOT_SETTINGS =
      Set.of("user", "database", "options", "replication");

  /** Reported values that describe the server or the login and cannot be set. */
  private static final Set<String> FIXED =
      Set.of(
          "server_version",
          "server_encoding",
          "integer_datetimes",
          "is_superuser",
          "session_authorization",
          "in_hot_standby");

  private static final Pattern NAME =
      Pattern.compile("[A-Za-z_][A-Za-z0-9_$]*(\\.[A-Za-z0-9_$]+)*");

  private final Map<String, String> startup;
  private final Map<String, String> desired;
  private final Map<String, String> clientView = new HashMap<>();
  private long version;

  private SessionParameters(Map<String, String> startup) {
    this.startup = Map.copyOf(startup);
    this.desired = new LinkedHashMap<>(startup);
  }

  /**
   * The settings of a StartupMessage: every parameter except the login keys, plus {@code -c
   * name=value} and {@code --name=value} items of {@code options}.
   *
   * @throws SluiceException 42704 for a name that cannot be a setting, 0A000 for other options
   */
  public static SessionParameters fromStartup(Map<String, String> startup) {
    Map<String, String> d = new LinkedHashMap<>();
    for (Map.Entry<String, String> e : startup.entrySet()) {
      String k = e.getKey();
      if (NOT_SETTINGS.contains(k) || k.startsWith("_pq_.")) {
        continue;
      }
      putChecked(d, k, e.getValue());
    }
    String options = startup.get("options");
    if (options != null) {
      StartupOptions.parse(options).forEach((k, v) -> putChecked(d, k, v));
    }
    return new SessionParameters(d);
  }

  private static void putChecked(Map<String, String> d, String name, String value) {
    if (!NAME.matcher(name).matches() || FIXED.contains(name.toLowerCase(Locale.ROOT))) {
      throw SluiceException.fatal(
          SqlState.UNDEFINED_OBJECT, "unrecognized configuration parameter \"" + name + "\"");
    }
    d.put(name.toLowerCase(Locale.ROOT), value);
  }

  /**
   * What to report to the client at login: the server's values, with the client's own settings as
   * the server reports them ({@code serverValue} gives a backend's spelling of the client's value:
   * {@code ISO} is reported as {@code ISO, MDY}). Also records them as the client's view, and takes
   * the server's spelling as the value to replay, so that a backend already at it needs no change.
   */
  public Map<String, String> initialReport(
      Map<String, String> serverDefaults, BinaryOperator<String> serverValue) {
    Map<String, String> report = new LinkedHashMap<>();
    serverDefaults.forEach(
        (k, v) -> {
          String key = k.toLowerCase(Locale.ROOT);
          String mine = desired.get(key);
          report.put(k, mine == null ? v : serverValue.apply(key, mine));
        });
    clientView.putAll(report);
    return report;
  }

  /**
   * The query that makes a backend whose settings are {@code applied} match this client, or {@code
   * null} when they already do. Afterwards {@code applied} holds this client's settings.
   */
  public String syncQuery(Map<String, String> applied) {
    if (applied.equals(desired)) {
      return null;
    }
    StringBuilder sets = new StringBuilder();
    StringBuilder resets = new StringBuilder();
    for (Map.Entry<String, String> e : desired.entrySet()) {
      if (!e.getValue().equals(applied.get(e.getKey()))) {
        sets.append(sets.length() == 0 ? "SELECT " : ", ")
            .append("pg_catalog.set_config(")
            .append(SqlLiteral.of(e.getKey()))
            .append(", ")
            .append(SqlLiteral.of(e.getValue()))
            .append(", false)");
      }
    }
    for (String k : applied.keySet()) {
      if (!desired.containsKey(k)) {
        resets.append("RESET ").append(SqlLiteral.identifier(k)).append(';');
      }
    }
    applied.clear();
    applied.putAll(desired);
    return sets.length() == 0 ? resets.toString() : sets + ";" + resets;
  }

  /**
   * A query that checks {@code settings} the way PostgreSQL checks startup parameters, and leaves
   * no trace: {@code set_config(name, value, true)} lasts only until the end of the statement's own
   * implicit transaction. Its error, if any, is the one PostgreSQL gives a client at login for the
   * same parameter: 42704 for an unknown name, 22023 for a bad value, 55P02 for a setting that
   * cannot be changed in a session.
   */
  public static String checkQuery(Map<String, String> settings) {
    StringBuilder sb = new StringBuilder("SELECT ");
    boolean first = true;
    for (Map.Entry<String, String> e : settings.entrySet()) {
      if (!first) {
        sb.append(", ");
      }
      first = false;
      sb.append("pg_catalog.set_config(")
          .append(SqlLiteral.of(e.getKey()))
          .append(", ")
          .append(SqlLiteral.of(e.getValue()))
          .append(", true)");
    }
    return sb.toString();
  }

  /**
   * A backend serving this client reported a setting. Records it as this client's (and, through
   * {@code applied}, the backend's) value.
   *
   * @return whether the client should be told: its view of that setting changed
   */
  public boolean onReported(String name, String value, Map<String, String> applied) {
    String key = name.toLowerCase(Locale.ROOT);
    if (!FIXED.contains(key)) {
      if (!value.equals(desired.put(key, value))) {
        version++;
      }
      applied.put(key, value);
    }
    return !value.equals(clientView.put(name, value));
  }

  /**
   * Records a value Sluice read from the backend serving this client (a setting the server does not
   * report, after the client SET it): it now follows the client.
   */
  public void record(String name, String value, Map<String, String> applied) {
    String key = name.toLowerCase(Locale.ROOT);
    if (!value.equals(desired.put(key, value))) {
      version++;
    }
    applied.put(key, value);
  }

  /** RESET ALL or DISCARD ALL: the session is back to what the client asked for at login. */
  public void resetToStartup() {
    desired.clear();
    desired.putAll(startup);
    version++;
  }

  /** The current desired settings; read-only. */
  /** Changes whenever {@link #desired} may have: a cheap test for "settings unchanged". */
  public long version() {
    return version;
  }

  public Map<String, String> desired() {
    return Collections.unmodifiableMap(desired);
  }
}
