package dev.sluice.cli;

import dev.sluice.config.ClientAuth;
import dev.sluice.config.ConfigException;
import dev.sluice.config.Durations;
import dev.sluice.config.HostAndPort;
import dev.sluice.config.PoolMode;
import dev.sluice.config.ProxyConfig;
import dev.sluice.config.SessionStateMode;
import dev.sluice.config.TlsMode;
import dev.sluice.config.Upstream;
import dev.sluice.config.UpstreamUrl;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Turns the flags given and the environment into {@link CliSettings}: a flag beats its {@code
 * SLUICE_*} variable, which beats the default. Every value goes through the core parsers, and an
 * error names where the bad value came from (the flag, or the variable), so the command can print
 * it as one line. The environment is a parameter, never read here, so tests pass a plain map.
 *
 * <p>A blank variable counts as unset, except {@code SLUICE_SERVER_RESET_QUERY}, where empty means
 * "no reset query" just as {@code --server-reset-query ''} does.
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
          LogLevel.INFO);

  static final String NO_UPSTREAM =
      "no upstream database: pass --upstream postgres://USER:PASSWORD@HOST:5432/DB"
          + " or set DATABASE_URL";

  private ConfigAssembler() {}

  /** A raw value and the name to blame for it: the flag or the environment variable. */
  private record Setting(String key, String text) {}

  /**
   * @param given flags from the command line, raw text
   * @param env the process environment
   * @throws ConfigException for a bad value, naming its flag or variable
   * @throws UsageException when no upstream is given anywhere
   */
  static CliSettings assemble(Map<Flag, String> given, Map<String, String> env) {
    ProxyConfig.Builder builder = ProxyConfig.builder(null);
    LogLevel logLevel = DEFAULTS.logLevel();
    for (Flag flag : Flag.values()) {
      Setting s = lookup(flag, given, env);
      if (s == null || flag == Flag.UPSTREAM) {
        continue;
      }
      if (flag == Flag.LOG_LEVEL) {
        logLevel = LogLevel.parse(s.key(), s.text());
      } else {
        apply(flag, builder, s.key(), s.text());
      }
    }
    // The upstream comes last so that a typo in another flag is reported even with no upstream.
    builder.upstream(upstream(given, env));
    return new CliSettings(builder.build(), logLevel);
  }

  private static Setting lookup(Flag flag, Map<Flag, String> given, Map<String, String> env) {
    if (given.containsKey(flag)) {
      return new Setting(flag.option(), given.get(flag));
    }
    String value = env.get(flag.envVar());
    boolean unset = value == null || (value.isBlank() && flag != Flag.SERVER_RESET_QUERY);
    return unset ? null : new Setting(flag.envVar(), value);
  }

  private static Upstream upstream(Map<Flag, String> given, Map<String, String> env) {
    String flag = given.get(Flag.UPSTREAM);
    if (flag != null) {
      return UpstreamUrl.parse(Flag.UPSTREAM.option(), flag);
    }
    return UpstreamUrl.fromEnvironment(env).orElseThrow(() -> new UsageException(NO_UPSTREAM));
  }

  private static void apply(Flag flag, ProxyConfig.Builder b, String key, String text) {
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
      case MAX_PENDING_LOGINS -> b.maxPendingLogins(FlagValues.integer(key, text, 1));
      case MAX_MESSAGE_MEMORY ->
          b.maxMessageMemory(
              FlagValues.size(
                  key, text, ProxyConfig.MIN_MESSAGE_MEMORY, ProxyConfig.MAX_MESSAGE_MEMORY_LIMIT));
      case SERVER_RESET_QUERY -> b.serverResetQuery(text);
      case CLIENT_AUTH -> b.clientAuth(ClientAuth.parse(key, text));
      case SESSION_STATE -> b.sessionState(SessionStateMode.parse(key, text));
      case MAX_PREPARED_STATEMENTS -> b.maxPreparedStatements(FlagValues.integer(key, text, 1));
      case WORKERS -> b.workerThreads(FlagValues.integer(key, text, 0));
      case UPSTREAM, LOG_LEVEL ->
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

  /** Checked here as well as in ProxyConfig so that the error names a variable when it is one. */
  private static Duration positive(String key, String text) {
    Duration d = Durations.parse(key, text);
    if (d.isZero()) {
      throw new ConfigException(key, text, "expected a positive duration such as 30s");
    }
    return d;
  }
}
