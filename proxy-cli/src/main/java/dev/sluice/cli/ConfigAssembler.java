package dev.sluice.cli;

import dev.sluice.config.CacheConfig;
import dev.sluice.config.ClientAuth;
import dev.sluice.config.ConfigException;
import dev.sluice.config.Durations;
import dev.sluice.config.HostAndPort;
import dev.sluice.config.PoolMode;
import dev.sluice.config.ProxyConfig;
import dev.sluice.config.ProxyConfigBuilder;
import dev.sluice.config.SessionStateMode;
import dev.sluice.config.TlsMode;
import dev.sluice.config.Upstream;
import dev.sluice.config.UpstreamUrl;
import java.time.Duration;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * Turns the flags given, the environment and the config file into {@link CliSettings}: a flag beats
 * its {@code SLUICE_*} variable, which beats the config file, which beats the default. Every value
 * goes through the core parsers, and an error names where the bad value came from (the flag, the
 * variable, or the key and the file), so the command can print it as one line. Nothing is read
 * here: the environment is a map and the file arrives parsed, so tests pass plain values; {@link
 * ConfigSource} does the reading.
 *
 * <p>A blank variable counts as unset, except {@code SLUICE_SERVER_RESET_QUERY}, where empty means
 * "no reset query" just as {@code --server-reset-query ''} does.
 *
 * <p>The upstream has more places than other settings, in this order: {@code --upstream}, {@code
 * SLUICE_UPSTREAM}, {@code DATABASE_URL}, the file's {@code upstream}, and last libpq's {@code PG*}
 * variables. Those come after the file because they are libpq's ambient defaults (a shell may hold
 * {@code PGUSER} for other reasons) rather than a choice made for Sluice.
 */
final class ConfigAssembler {
  static final CliSettings DEFAULTS =
      new CliSettings(
          ProxyConfig.builder(
                  new Upstream(
                      List.of(new HostAndPort("localhost", 5432)),
                      null,
                      "postgres",
                      null,
                      null,
                      Map.of()))
              .build(),
          LogLevel.INFO,
          LogFormat.AUTO,
          null,
          Map.of());

  static final String NO_UPSTREAM =
      "no upstream database: pass --upstream postgres://USER:PASSWORD@HOST:5432/DB"
          + " or set DATABASE_URL";

  private static final List<String> UPSTREAM_VARIABLES = List.of("SLUICE_UPSTREAM", "DATABASE_URL");

  private ConfigAssembler() {}

  /** A raw value and where it came from. */
  record Value(Origin origin, String text) {}

  /** {@link #assemble(Map, Map, ConfigFile)} without a config file. */
  static CliSettings assemble(Map<Flag, String> given, Map<String, String> env) {
    return assemble(given, env, ConfigFile.NONE);
  }

  /**
   * @param given flags from the command line, raw text
   * @param env the process environment
   * @param file the config file's settings, or {@link ConfigFile#NONE}
   * @throws ConfigException for a bad value, naming its flag, variable or file key
   * @throws UsageException when no upstream is given anywhere
   */
  static CliSettings assemble(Map<Flag, String> given, Map<String, String> env, ConfigFile file) {
    ProxyConfigBuilder builder = ProxyConfig.builder(null);
    LogLevel logLevel = DEFAULTS.logLevel();
    LogFormat logFormat = DEFAULTS.logFormat();
    Map<Flag, Origin> origins = new EnumMap<>(Flag.class);
    for (Flag flag : Flag.values()) {
      Value v = lookup(flag, given, env, file);
      if (v == null || flag == Flag.UPSTREAM || flag == Flag.CONFIG) {
        continue;
      }
      origins.put(flag, v.origin());
      String key = v.origin().blame(flag);
      switch (flag) {
        case LOG_LEVEL -> logLevel = LogLevel.parse(key, v.text());
        case LOG_FORMAT -> logFormat = LogFormat.parse(key, v.text());
        default -> apply(flag, builder, key, v.text());
      }
    }
    // The upstream comes last so that a typo in another flag is reported even with no upstream.
    Located<Upstream> upstream = upstream(given, env, file);
    origins.put(Flag.UPSTREAM, upstream.origin());
    builder.upstream(upstream.value());
    if (file.path() != null) {
      origins.put(Flag.CONFIG, configOrigin(given, env));
    }
    return new CliSettings(builder.build(), logLevel, logFormat, file.path(), origins);
  }

  /**
   * The value of {@code flag} from the first place that has one, or null: the flag, then its
   * variable, then the file.
   */
  static Value lookup(
      Flag flag, Map<Flag, String> given, Map<String, String> env, ConfigFile file) {
    if (given.containsKey(flag)) {
      return new Value(Origin.flag(flag), given.get(flag));
    }
    String value = env.get(flag.envVar());
    boolean unset = value == null || (value.isBlank() && flag != Flag.SERVER_RESET_QUERY);
    if (!unset) {
      return new Value(Origin.env(flag.envVar()), value);
    }
    String fromFile = file.values().get(flag);
    return fromFile == null ? null : new Value(Origin.file(file.path()), fromFile);
  }

  private static Origin configOrigin(Map<Flag, String> given, Map<String, String> env) {
    Value v = lookup(Flag.CONFIG, given, env, ConfigFile.NONE);
    return v == null ? Origin.DEFAULT : v.origin();
  }

  /** A parsed value and where it came from. */
  private record Located<T>(Origin origin, T value) {}

  /** The upstream from the first place that names one; see the class comment for the order. */
  private static Located<Upstream> upstream(
      Map<Flag, String> given, Map<String, String> env, ConfigFile file) {
    Value v =
        given.containsKey(Flag.UPSTREAM)
            ? new Value(Origin.flag(Flag.UPSTREAM), given.get(Flag.UPSTREAM))
            : null;
    for (String variable : UPSTREAM_VARIABLES) {
      String text = env.get(variable);
      if (v == null && text != null && !text.isBlank()) {
        v = new Value(Origin.env(variable), text);
      }
    }
    if (v == null && file.values().containsKey(Flag.UPSTREAM)) {
      v = new Value(Origin.file(file.path()), file.values().get(Flag.UPSTREAM));
    }
    if (v != null) {
      return new Located<>(
          v.origin(), UpstreamUrl.parse(v.origin().blame(Flag.UPSTREAM), v.text()));
    }
    Upstream fromLibpq =
        UpstreamUrl.fromEnvironment(env).orElseThrow(() -> new UsageException(NO_UPSTREAM));
    return new Located<>(Origin.env("PG*"), fromLibpq);
  }

  private static void apply(Flag flag, ProxyConfigBuilder b, String key, String text) {
    switch (flag) {
      case LISTEN -> b.listen(HostAndPort.parse(key, text));
      case POOL_MODE -> b.poolMode(PoolMode.parse(key, text));
      case POOL_SIZE -> b.poolSize(FlagValues.integer(key, text, 1));
      case MIN_IDLE -> b.minIdle(FlagValues.integer(key, text, 0));
      case ACQUIRE_TIMEOUT -> b.acquireTimeout(positive(key, text));
      case MAX_CLIENT_CONNECTIONS -> b.maxClientConnections(FlagValues.integer(key, text, 1));
      case SERVER_LIFETIME -> b.serverLifetime(positive(key, text));
      case SERVER_IDLE_TIMEOUT -> b.serverIdleTimeout(positive(key, text));
      case CONNECT_TIMEOUT -> b.connectTimeout(positive(key, text));
      case MAX_MESSAGE_SIZE ->
          b.maxMessageSize(
              (int) FlagValues.size(key, text, 1024, ProxyConfig.MAX_MESSAGE_SIZE_LIMIT));
      case CLIENT_LOGIN_TIMEOUT -> b.clientLoginTimeout(positive(key, text));
      case CONNECT_RETRIES -> b.connectRetries(FlagValues.integer(key, text, 0));
      case TCP_KEEPALIVE_IDLE -> b.tcpKeepaliveIdle(positive(key, text));
      case TCP_USER_TIMEOUT -> b.tcpUserTimeout(positive(key, text));
      case QUERY_TIMEOUT -> b.queryTimeout(offOrPositive(key, text));
      case IDLE_TRANSACTION_TIMEOUT -> b.idleTransactionTimeout(offOrPositive(key, text));
      case ALLOW_DATABASES -> b.allowDatabases(databases(key, text));
      case MAX_POOLS -> b.maxPools(FlagValues.integer(key, text, 1));
      case SERVER_CHECK_DELAY -> b.serverCheckDelay(positive(key, text));
      case SHUTDOWN_TIMEOUT -> b.shutdownTimeout(positive(key, text));
      case TLS_MODE -> b.tlsMode(TlsMode.parse(key, text));
      case TLS_CERT -> b.tlsCert(text.strip());
      case TLS_KEY -> b.tlsKey(text.strip());
      case ADMIN_LISTEN ->
          b.adminListen(text.strip().equals("off") ? null : HostAndPort.parse(key, text));
      case ADMIN_TOKEN -> b.adminToken(text);
      case ADMIN_USERS -> b.adminUsers(roles(key, text));
      case MAX_PENDING_LOGINS -> b.maxPendingLogins(FlagValues.integer(key, text, 1));
      case LOGIN_FAILURE_LIMIT -> b.loginFailureLimit(FlagValues.integer(key, text, 0));
      case LOGIN_FAILURE_WINDOW -> b.loginFailureWindow(positive(key, text));
      case MAX_MESSAGE_MEMORY ->
          b.maxMessageMemory(
              FlagValues.size(
                  key, text, ProxyConfig.MIN_MESSAGE_MEMORY, ProxyConfig.MAX_MESSAGE_MEMORY_LIMIT));
      case SERVER_RESET_QUERY -> b.serverResetQuery(text);
      case CLIENT_AUTH -> b.clientAuth(ClientAuth.parse(key, text));
      case SESSION_STATE -> b.sessionState(SessionStateMode.parse(key, text));
      case MAX_PREPARED_STATEMENTS -> b.maxPreparedStatements(FlagValues.integer(key, text, 1));
      case WORKERS -> b.workerThreads(FlagValues.integer(key, text, 0));
      case CACHE -> b.cache(c -> c.withEnabled(FlagValues.onOff(key, text)));
      case CACHE_MAX_SIZE -> b.cache(c -> c.withMaxSize(FlagValues.size(key, text, 0, 1L << 40)));
      case CACHE_MAX_ENTRY_SIZE ->
          b.cache(c -> c.withMaxEntrySize(FlagValues.size(key, text, 1, 1L << 30)));
      case CACHE_MAX_AGE -> b.cache(c -> c.withMaxAge(positive(key, text)));
      case CACHE_STALE_WHILE_REVALIDATE ->
          b.cache(c -> c.withStaleWhileRevalidate(Durations.parse(key, text)));
      case CACHE_INVALIDATION ->
          b.cache(c -> c.withInvalidation(CacheConfig.Invalidation.parse(key, text)));
      case CACHE_INVALIDATION_CHANNEL ->
          b.cache(c -> c.withChannel(text.strip().equals("none") ? null : text.strip()));
      case CONFIG, UPSTREAM, LOG_LEVEL, LOG_FORMAT ->
          throw new IllegalArgumentException(flag + " is not a builder field");
    }
  }

  /** A comma-separated list of database names, or {@code none}. */
  private static java.util.Set<String> databases(String key, String text) {
    java.util.Set<String> out = new java.util.LinkedHashSet<>();
    for (String part : text.split(",")) {
      String name = part.strip();
      if (name.isEmpty()) {
        throw new ConfigException(key, text, "expected database names separated by commas, or *");
      }
      out.add(name);
    }
    out.remove("none");
    return out;
  }

  /** A comma-separated list of role names, or {@code none}. */
  private static java.util.Set<String> roles(String key, String text) {
    java.util.Set<String> out = new java.util.LinkedHashSet<>();
    for (String part : text.split(",")) {
      String name = part.strip();
      if (name.isEmpty()) {
        throw new ConfigException(key, text, "expected role names separated by commas, or none");
      }
      out.add(name);
    }
    out.remove("none");
    return out;
  }

  /** A duration, or {@code off} (or 0) for none. */
  private static Duration offOrPositive(String key, String text) {
    String t = text.strip();
    if (t.equals("off") || t.equals("0")) {
      return Duration.ZERO;
    }
    return positive(key, text);
  }

  /** Checked here as well as in ProxyConfig so that the error names a variable when it is one. */
  private static Duration positive(String key, String text) {
    Duration d = Durations.parse(key, text);
    if (d.isZero()) {
      throw new ConfigException(key, text, "expected a positive duration such as 30s");
    }
    return d;
  }
}
