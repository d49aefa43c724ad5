package dev.sluice.config;

import java.time.Duration;
import java.util.Objects;

/**
 * Everything one running Sluice needs, validated once at load. Immutable: components receive it
 * through their constructors. Every check names the flag it guards, so a refused start says which
 * flag to fix.
 *
 * @param listen where clients connect
 * @param upstream the database Sluice pools connections to, with the credentials it logs in with
 * @param poolMode transaction or session pooling
 * @param poolSize max backend connections per (database, user) pool
 * @param minIdle backend connections opened at start and kept warm
 * @param acquireTimeout how long a client waits for a backend before a clean 53300 error
 * @param maxClientConnections clients beyond this get 53300 at login
 * @param serverLifetime a backend older than this is closed when it next becomes idle (with jitter)
 * @param serverIdleTimeout an idle backend beyond {@code minIdle} is closed after this long
 * @param connectTimeout how long one backend connect (TCP plus login) may take
 * @param maxMessageSize the largest single protocol message a client may send, in bytes
 * @param serverResetQuery run on a backend when a session-mode client releases it; empty for none
 * @param clientAuth how clients authenticate to Sluice
 * @param workerThreads event-loop threads; 0 picks one per available processor
 * @param maxPreparedStatements server-side prepared statements kept per backend (LRU)
 * @param sessionState pin or reject clients whose SQL leaves session state (transaction mode)
 * @param clientLoginTimeout a client that has not completed its login within this is closed
 * @param maxPendingLogins connections still logging in, counted apart from logged-in clients; a new
 *     one beyond it pushes out the oldest
 * @param maxMessageMemory bytes all clients' incomplete messages may hold together; a client whose
 *     large message does not fit waits (is not read) until it does
 * @param connectRetries how many times a backend connect is tried again after a transient failure
 * @param serverCheckDelay a backend idle longer than this is checked (an empty query) before reuse
 * @param shutdownTimeout how long a drain (SIGTERM) waits for transactions in flight
 * @param tcpKeepaliveIdle idle time before TCP keepalive probes on backend sockets (epoll)
 * @param tcpUserTimeout how long unacknowledged data may sit on a backend socket before the kernel
 *     drops the connection (epoll's TCP_USER_TIMEOUT)
 * @param allowDatabases databases clients may reach besides the upstream's; {@code *} for any
 * @param maxPools pools (database, user pairs) at most; a client beyond gets 53300
 * @param tlsMode TLS from clients: disable, allow (when asked), require
 * @param tlsCert the PEM certificate chain clients see; null for none
 * @param tlsKey its PEM (PKCS#8) private key; null for none
 * @param adminListen where the admin HTTP server listens; null for none
 * @param adminToken the bearer token the admin port's changing endpoints need; null for none
 * @param cache the query result cache
 * @param queryTimeout a request a backend has not answered for this long closes the backend and the
 *     client (57014); zero for never
 * @param idleTransactionTimeout a client idle inside a transaction for this long is disconnected
 *     (25P03) and its transaction rolled back; zero for never
 * @param adminUsers roles allowed into the admin console (the database {@code sluice}) besides the
 *     upstream's
 * @param loginFailureLimit failed logins from one client address, each within {@code
 *     loginFailureWindow} of the one before, after which that address's logins are refused until
 *     the window has passed since its last failure; 0 for no limit
 * @param loginFailureWindow see {@code loginFailureLimit}
 */
public record ProxyConfig(
    HostAndPort listen,
    Upstream upstream,
    PoolMode poolMode,
    int poolSize,
    int minIdle,
    Duration acquireTimeout,
    int maxClientConnections,
    Duration serverLifetime,
    Duration serverIdleTimeout,
    Duration connectTimeout,
    int maxMessageSize,
    String serverResetQuery,
    ClientAuth clientAuth,
    int workerThreads,
    int maxPreparedStatements,
    SessionStateMode sessionState,
    Duration clientLoginTimeout,
    int maxPendingLogins,
    long maxMessageMemory,
    int connectRetries,
    Duration serverCheckDelay,
    Duration shutdownTimeout,
    Duration tcpKeepaliveIdle,
    Duration tcpUserTimeout,
    java.util.Set<String> allowDatabases,
    int maxPools,
    TlsMode tlsMode,
    String tlsCert,
    String tlsKey,
    HostAndPort adminListen,
    String adminToken,
    Duration queryTimeout,
    Duration idleTransactionTimeout,
    java.util.Set<String> adminUsers,
    int loginFailureLimit,
    Duration loginFailureWindow,
    CacheConfig cache) {
  /**
   * The {@code --tls-cert} value that has Sluice make a certificate of its own at start, for
   * development.
   */
  public static final String SELF_SIGNED = "self-signed";

  /** PostgreSQL's own cap on a message is 1 GB; nothing bigger can be meaningful. */
  public static final int MAX_MESSAGE_SIZE_LIMIT = 1 << 30;

  public static final int DEFAULT_MAX_MESSAGE_SIZE = 128 << 20;

  public static final long DEFAULT_MAX_MESSAGE_MEMORY = 256L << 20;

  public static final long MIN_MESSAGE_MEMORY = 1L << 20;

  /** The largest {@code --max-message-memory}: 64 GB. */
  public static final long MAX_MESSAGE_MEMORY_LIMIT = 64L << 30;

  public ProxyConfig {
    Objects.requireNonNull(listen, "listen");
    Objects.requireNonNull(upstream, "upstream");
    Objects.requireNonNull(poolMode, "poolMode");
    Objects.requireNonNull(clientAuth, "clientAuth");
    Objects.requireNonNull(sessionState, "sessionState");
    cache = cache == null ? CacheConfig.DEFAULTS : cache;
    serverResetQuery = serverResetQuery == null ? "" : serverResetQuery.trim();
    atLeast("--pool-size", poolSize, 1);
    atLeast("--min-idle", minIdle, 0);
    if (minIdle > poolSize) {
      throw new ConfigException(
          "--min-idle", Integer.toString(minIdle), "must not exceed --pool-size " + poolSize);
    }
    atLeast("--max-client-connections", maxClientConnections, 1);
    positive("--acquire-timeout", acquireTimeout);
    positive("--server-lifetime", serverLifetime);
    positive("--server-idle-timeout", serverIdleTimeout);
    positive("--connect-timeout", connectTimeout);
    if (maxMessageSize < 1024 || maxMessageSize > MAX_MESSAGE_SIZE_LIMIT) {
      throw new ConfigException(
          "--max-message-size",
          Integer.toString(maxMessageSize),
          "expected between 1024 and " + MAX_MESSAGE_SIZE_LIMIT + " bytes");
    }
    atLeast("--workers", workerThreads, 0);
    atLeast("--max-prepared-statements", maxPreparedStatements, 1);
    positive("--client-login-timeout", clientLoginTimeout);
    atLeast("--max-pending-logins", maxPendingLogins, 1);
    atLeast("--login-failure-limit", loginFailureLimit, 0);
    positive("--login-failure-window", loginFailureWindow);
    atLeast("--connect-retries", connectRetries, 0);
    positive("--server-check-delay", serverCheckDelay);
    positive("--shutdown-timeout", shutdownTimeout);
    queryTimeout = queryTimeout == null ? Duration.ZERO : queryTimeout;
    idleTransactionTimeout =
        idleTransactionTimeout == null ? Duration.ZERO : idleTransactionTimeout;
    if (queryTimeout.isNegative()) {
      throw new ConfigException("--query-timeout", queryTimeout.toString(), "must not be negative");
    }
    if (idleTransactionTimeout.isNegative()) {
      throw new ConfigException(
          "--idle-transaction-timeout", idleTransactionTimeout.toString(), "must not be negative");
    }
    positive("--tcp-keepalive-idle", tcpKeepaliveIdle);
    positive("--tcp-user-timeout", tcpUserTimeout);
    allowDatabases =
        allowDatabases == null ? java.util.Set.of() : java.util.Set.copyOf(allowDatabases);
    adminUsers = adminUsers == null ? java.util.Set.of() : java.util.Set.copyOf(adminUsers);
    atLeast("--max-pools", maxPools, 1);
    tlsMode = tlsMode == null ? TlsMode.ALLOW : tlsMode;
    if (SELF_SIGNED.equals(tlsCert) && tlsKey != null) {
      throw new ConfigException(
          "--tls-key", tlsKey, "--tls-cert self-signed makes its own key: give no --tls-key");
    }
    if (!SELF_SIGNED.equals(tlsCert) && (tlsCert == null) != (tlsKey == null)) {
      throw new ConfigException(
          tlsCert == null ? "--tls-key" : "--tls-cert",
          tlsCert == null ? tlsKey : tlsCert,
          "--tls-cert and --tls-key go together");
    }
    if (tlsMode == TlsMode.REQUIRE && tlsCert == null) {
      throw new ConfigException(
          "--tls-mode",
          "require",
          "needs --tls-cert and --tls-key (or --tls-cert self-signed, for development)");
    }
    adminToken = adminToken == null || adminToken.isBlank() ? null : adminToken;
    if (adminListen != null && adminToken == null && !isLoopback(adminListen.host())) {
      throw new ConfigException(
          "--admin-listen",
          adminListen.toString(),
          "an admin port beyond loopback needs --admin-token");
    }
    if (maxMessageMemory < MIN_MESSAGE_MEMORY || maxMessageMemory > MAX_MESSAGE_MEMORY_LIMIT) {
      throw new ConfigException(
          "--max-message-memory",
          Long.toString(maxMessageMemory),
          "expected between " + MIN_MESSAGE_MEMORY + " and " + MAX_MESSAGE_MEMORY_LIMIT + " bytes");
    }
  }

  /** A builder seeded with the documented default of every flag. */
  public static ProxyConfigBuilder builder(Upstream upstream) {
    return new ProxyConfigBuilder(upstream);
  }

  /** Whether clients may reach {@code database}: the upstream's, one listed, or any with *. */
  public boolean allowsDatabase(String database) {
    return database.equals(upstream.database())
        || allowDatabases.contains("*")
        || allowDatabases.contains(database);
  }

  /** Whether {@code user} may use the admin console: the upstream's role, or one listed. */
  public boolean allowsConsoleUser(String user) {
    return user.equals(upstream.user()) || adminUsers.contains(user);
  }

  /** A loopback address by its text: 127.x.x.x, ::1, localhost. */
  static boolean isLoopback(String host) {
    return host.equals("localhost") || host.startsWith("127.") || host.equals("::1");
  }

  /** Never the token itself. */
  @Override
  public String toString() {
    return "ProxyConfig[listen="
        + listen
        + ", upstream="
        + upstream
        + ", poolMode="
        + poolMode
        + ", poolSize="
        + poolSize
        + ", adminListen="
        + adminListen
        + (adminToken == null ? "" : ", adminToken=****")
        + "]";
  }

  private static void atLeast(String key, int value, int min) {
    if (value < min) {
      throw new ConfigException(key, Integer.toString(value), "expected an integer >= " + min);
    }
  }

  private static void positive(String key, Duration d) {
    if (d == null || d.isNegative() || d.isZero()) {
      throw new ConfigException(
          key, d == null ? "" : Durations.format(d), "expected a positive duration such as 30s");
    }
  }
}
