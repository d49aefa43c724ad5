package dev.sluice.cli;

import dev.sluice.config.Durations;
import dev.sluice.config.ProxyConfig;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * Every setting the {@code sluice} command takes, declared once: its flag, its {@code SLUICE_*}
 * environment variable, its key in the config file, its help text and how its effective value
 * prints. The Picocli options, the help output, {@code check-config}, {@code
 * config/sluice.env.example}, {@code config/sluice.yaml} and the README's table all follow this
 * list.
 */
enum Flag {
  CONFIG(
      "config",
      "FILE",
      "A YAML file of settings, one 'flag-name: value' per line; flags and variables beat it."),
  LISTEN("listen", "HOST:PORT", "Where clients connect."),
  UPSTREAM(
      "upstream",
      "URL",
      "The database to pool: a libpq URI (postgres://user:password@host:5432/db)"
          + " or key=value string."),
  POOL_MODE("pool-mode", "MODE", "transaction or session."),
  POOL_SIZE("pool-size", "N", "Max backend connections per (database, user) pool."),
  MIN_IDLE("min-idle", "N", "Backend connections opened at start and kept warm."),
  ACQUIRE_TIMEOUT(
      "acquire-timeout", "DURATION", "How long a client waits for a backend before an error."),
  MAX_CLIENT_CONNECTIONS(
      "max-client-connections", "N", "Clients beyond this are refused at login."),
  SERVER_LIFETIME(
      "server-lifetime", "DURATION", "A backend older than this is closed when next idle."),
  SERVER_IDLE_TIMEOUT(
      "server-idle-timeout", "DURATION", "An idle backend beyond --min-idle is closed after this."),
  CONNECT_TIMEOUT(
      "connect-timeout", "DURATION", "How long one backend connect (TCP and login) may take."),
  CONNECT_RETRIES(
      "connect-retries",
      "N",
      "Times a backend connect is tried again after a transient failure, with backoff."),
  SERVER_CHECK_DELAY(
      "server-check-delay",
      "DURATION",
      "A backend idle longer than this is checked (an empty query, answered within"
          + " --connect-timeout) before it is reused."),
  SHUTDOWN_TIMEOUT(
      "shutdown-timeout",
      "DURATION",
      "On SIGTERM or SIGINT, how long transactions in flight may take to finish."),
  TCP_KEEPALIVE_IDLE(
      "tcp-keepalive-idle",
      "DURATION",
      "Backend sockets: idle time before TCP keepalive probes (every 10s, 3 unanswered drop it)."),
  TCP_USER_TIMEOUT(
      "tcp-user-timeout",
      "DURATION",
      "Backend sockets: how long sent data may go unacknowledged before the connection drops."),
  QUERY_TIMEOUT(
      "query-timeout",
      "DURATION",
      "A request its backend has not answered for this long closes both (57014); off for never."),
  IDLE_TRANSACTION_TIMEOUT(
      "idle-transaction-timeout",
      "DURATION",
      "A client idle inside a transaction this long is disconnected (25P03); off for never."),
  ALLOW_DATABASES(
      "allow-databases",
      "LIST",
      "Databases clients may reach besides the upstream's, comma-separated; * for any."),
  MAX_POOLS("max-pools", "N", "Pools (database, user pairs) at most."),
  MAX_MESSAGE_SIZE(
      "max-message-size",
      "SIZE",
      "Largest message a client may send: bytes, or a number with kB, MB or GB."),
  MAX_MESSAGE_MEMORY(
      "max-message-memory",
      "SIZE",
      "Bytes all clients' incomplete messages may hold together; a client whose large message"
          + " does not fit waits until it does."),
  CLIENT_LOGIN_TIMEOUT(
      "client-login-timeout",
      "DURATION",
      "A client that has not completed its login within this is closed."),
  MAX_PENDING_LOGINS(
      "max-pending-logins",
      "N",
      "Connections still logging in, apart from --max-client-connections; a new one beyond it"
          + " pushes out the oldest."),
  LOGIN_FAILURE_LIMIT(
      "login-failure-limit",
      "N",
      "Failed logins from one client address, each within --login-failure-window of the last,"
          + " after which its logins are refused (28P01) until that window has passed; 0 for"
          + " no limit."),
  LOGIN_FAILURE_WINDOW(
      "login-failure-window",
      "DURATION",
      "How close failed logins must come to count together, and how long an address that"
          + " reached --login-failure-limit is refused after its last failure."),
  SERVER_RESET_QUERY(
      "server-reset-query",
      "SQL",
      "Run on a backend a session-mode client releases; an empty string disables it."),
  CLIENT_AUTH("client-auth", "METHOD", "How clients authenticate: scram-sha-256, md5 or password."),
  SESSION_STATE(
      "session-state",
      "pin|reject",
      "Transaction mode, SQL that leaves session state: pin the client to its backend, or"
          + " reject the statement."),
  MAX_PREPARED_STATEMENTS(
      "max-prepared-statements",
      "N",
      "Server-side prepared statements kept per backend (least recently used closed first)."),
  WORKERS("workers", "N", "Event-loop threads; 0 picks one per available processor."),
  TLS_MODE(
      "tls-mode",
      "disable|allow|require",
      "TLS from clients: off, for clients that ask, or required (needs --tls-cert)."),
  TLS_CERT(
      "tls-cert",
      "FILE",
      "PEM certificate chain clients see, or self-signed: a certificate Sluice makes at start,"
          + " for development."),
  TLS_KEY("tls-key", "FILE", "PEM (PKCS#8) private key of --tls-cert."),
  ADMIN_LISTEN(
      "admin-listen",
      "HOST:PORT|off",
      "The admin HTTP port: health, readiness, Prometheus metrics, pools, clients, config."),
  ADMIN_TOKEN(
      "admin-token",
      "TOKEN",
      "Bearer token for the admin port; required when it listens beyond loopback."),
  ADMIN_USERS(
      "admin-users",
      "LIST",
      "Roles allowed into the console database sluice besides the upstream's, comma-separated."),
  CACHE(
      "cache",
      "on|off",
      "The query result cache: read-only statements answered from memory, never across roles."),
  CACHE_MAX_SIZE("cache-max-size", "SIZE", "Memory for cached answers (256MB, 1GB, ...)."),
  CACHE_MAX_ENTRY_SIZE(
      "cache-max-entry-size", "SIZE", "A larger answer is streamed to the client, not stored."),
  CACHE_MAX_AGE("cache-max-age", "DURATION", "How long a cached answer is served as fresh."),
  CACHE_STALE_WHILE_REVALIDATE(
      "cache-stale-while-revalidate",
      "DURATION",
      "After --cache-max-age, how long the old answer is still served while it is refreshed."),
  CACHE_INVALIDATION(
      "cache-invalidation",
      "max-age|wal",
      "Writes made around Sluice: seen when entries age out, or at once through logical"
          + " replication (needs wal_level=logical)."),
  CACHE_INVALIDATION_CHANNEL(
      "cache-invalidation-channel",
      "NAME|none",
      "LISTEN on this channel: a NOTIFY with a table name (or empty, for all) invalidates it."),
  LOG_LEVEL("log-level", "LEVEL", "trace, debug, info, warn, error or off."),
  LOG_FORMAT(
      "log-format",
      "text|json|auto",
      "Log lines on stderr: text, or one JSON object per line; auto picks json in a container.");

  private final String flagName;
  private final String paramLabel;
  private final String description;

  Flag(String flagName, String paramLabel, String description) {
    this.flagName = flagName;
    this.paramLabel = paramLabel;
    this.description = description;
  }

  /** The name without dashes, as {@code check-config} prints it: {@code pool-size}. */
  String flagName() {
    return flagName;
  }

  /** The flag as typed: {@code --pool-size}. */
  String option() {
    return "--" + flagName;
  }

  /**
   * The key in the config file, the flag's name: {@code pool-size}; null for {@link #CONFIG}, which
   * only a flag or its variable can set.
   */
  String fileKey() {
    return this == CONFIG ? null : flagName;
  }

  /** The flag whose config-file key is {@code key}, or null. */
  static Flag byFileKey(String key) {
    for (Flag f : values()) {
      if (key.equals(f.fileKey())) {
        return f;
      }
    }
    return null;
  }

  /** The environment variable behind the flag: {@code SLUICE_POOL_SIZE}. */
  String envVar() {
    return "SLUICE_" + flagName.toUpperCase(Locale.ROOT).replace('-', '_');
  }

  /** False for the settings that are simply absent unless given (the upstream, files, token). */
  boolean hasDefault() {
    return switch (this) {
      case CONFIG, UPSTREAM, TLS_CERT, TLS_KEY, ADMIN_TOKEN -> false;
      default -> true;
    };
  }

  /** The value used when no flag, variable or config file gives one, as help shows it. */
  String defaultText() {
    return hasDefault() ? render(ConfigAssembler.DEFAULTS) : "none";
  }

  /** The effective value in the spelling the flag accepts; the password is masked. */
  String render(CliSettings settings) {
    ProxyConfig c = settings.config();
    return switch (this) {
      case CONFIG -> settings.configFile() == null ? "none" : settings.configFile();
      case LISTEN -> c.listen().toString();
      case UPSTREAM -> c.upstream().toString();
      case POOL_MODE -> c.poolMode().flagValue();
      case POOL_SIZE -> Integer.toString(c.poolSize());
      case MIN_IDLE -> Integer.toString(c.minIdle());
      case ACQUIRE_TIMEOUT -> Durations.format(c.acquireTimeout());
      case MAX_CLIENT_CONNECTIONS -> Integer.toString(c.maxClientConnections());
      case SERVER_LIFETIME -> Durations.format(c.serverLifetime());
      case SERVER_IDLE_TIMEOUT -> Durations.format(c.serverIdleTimeout());
      case CONNECT_TIMEOUT -> Durations.format(c.connectTimeout());
      case CONNECT_RETRIES -> Integer.toString(c.connectRetries());
      case SERVER_CHECK_DELAY -> Durations.format(c.serverCheckDelay());
      case SHUTDOWN_TIMEOUT -> Durations.format(c.shutdownTimeout());
      case TCP_KEEPALIVE_IDLE -> Durations.format(c.tcpKeepaliveIdle());
      case TCP_USER_TIMEOUT -> Durations.format(c.tcpUserTimeout());
      case QUERY_TIMEOUT -> offOr(c.queryTimeout());
      case IDLE_TRANSACTION_TIMEOUT -> offOr(c.idleTransactionTimeout());
      case ALLOW_DATABASES ->
          c.allowDatabases().isEmpty()
              ? "none"
              : String.join(",", new java.util.TreeSet<>(c.allowDatabases()));
      case MAX_POOLS -> Integer.toString(c.maxPools());
      case MAX_MESSAGE_SIZE -> FlagValues.formatSize(c.maxMessageSize());
      case MAX_MESSAGE_MEMORY -> FlagValues.formatSize(c.maxMessageMemory());
      case CLIENT_LOGIN_TIMEOUT -> Durations.format(c.clientLoginTimeout());
      case MAX_PENDING_LOGINS -> Integer.toString(c.maxPendingLogins());
      case LOGIN_FAILURE_LIMIT -> Integer.toString(c.loginFailureLimit());
      case LOGIN_FAILURE_WINDOW -> Durations.format(c.loginFailureWindow());
      case SERVER_RESET_QUERY -> c.serverResetQuery();
      case CLIENT_AUTH -> c.clientAuth().flagValue();
      case SESSION_STATE -> c.sessionState().flagValue();
      case MAX_PREPARED_STATEMENTS -> Integer.toString(c.maxPreparedStatements());
      case WORKERS -> Integer.toString(c.workerThreads());
      case TLS_MODE -> c.tlsMode().flagValue();
      case TLS_CERT -> c.tlsCert() == null ? "none" : c.tlsCert();
      case TLS_KEY -> c.tlsKey() == null ? "none" : c.tlsKey();
      case ADMIN_LISTEN -> c.adminListen() == null ? "off" : c.adminListen().toString();
      case ADMIN_TOKEN -> c.adminToken() == null ? "none" : "****";
      case ADMIN_USERS ->
          c.adminUsers().isEmpty()
              ? "none"
              : String.join(",", new java.util.TreeSet<>(c.adminUsers()));
      case CACHE -> c.cache().enabled() ? "on" : "off";
      case CACHE_MAX_SIZE -> FlagValues.formatSize(c.cache().maxSize());
      case CACHE_MAX_ENTRY_SIZE -> FlagValues.formatSize(c.cache().maxEntrySize());
      case CACHE_MAX_AGE -> Durations.format(c.cache().maxAge());
      case CACHE_STALE_WHILE_REVALIDATE -> Durations.format(c.cache().staleWhileRevalidate());
      case CACHE_INVALIDATION -> c.cache().invalidation().flagValue();
      case CACHE_INVALIDATION_CHANNEL -> c.cache().channel() == null ? "none" : c.cache().channel();
      case LOG_LEVEL -> settings.logLevel().flagValue();
      case LOG_FORMAT -> settings.logFormat().flagValue();
    };
  }

  private static String offOr(java.time.Duration d) {
    return d.isZero() ? "off" : Durations.format(d);
  }

  private String[] helpLines() {
    if (this == UPSTREAM) {
      return new String[] {
        description,
        "Env: SLUICE_UPSTREAM, else DATABASE_URL; then the config file; then libpq's PGHOST,"
            + " PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGSSLMODE, PGAPPNAME."
      };
    }
    return new String[] {description, "Default: " + defaultText() + ". Env: " + envVar() + "."};
  }

  /**
   * Adds every flag to a command as a String-valued option: values are converted by {@link
   * ConfigAssembler}, never by Picocli, so a bad value gets the same one-line error from the flag
   * as from the environment.
   */
  static void addAll(CommandSpec command) {
    for (Flag f : values()) {
      command.addOption(
          OptionSpec.builder(f.option())
              .paramLabel(f.paramLabel)
              .type(String.class)
              .arity("1")
              .description(f.helpLines())
              .build());
    }
  }

  /** The flags given on the command line, with their raw text. */
  static Map<Flag, String> given(CommandSpec command) {
    Map<Flag, String> given = new EnumMap<>(Flag.class);
    for (Flag f : values()) {
      OptionSpec option = command.findOption(f.option());
      String value = option == null ? null : option.getValue();
      if (value != null) {
        given.put(f, value);
      }
    }
    return given;
  }
}
