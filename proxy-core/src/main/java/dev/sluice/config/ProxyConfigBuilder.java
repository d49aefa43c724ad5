package dev.sluice.config;

import java.time.Duration;

/**
 * Collects the settings of a {@link ProxyConfig}, each seeded with its flag's documented default,
 * then validates them all at once in {@link #build()} (the record's constructor does the checking).
 */
public final class ProxyConfigBuilder {
  private HostAndPort listen = new HostAndPort("127.0.0.1", 6432);
  private Upstream upstream;
  private PoolMode poolMode = PoolMode.TRANSACTION;
  private int poolSize = 20;
  private int minIdle = 2;
  private Duration acquireTimeout = Duration.ofSeconds(30);
  private int maxClientConnections = 10_000;
  private Duration serverLifetime = Duration.ofHours(1);
  private Duration serverIdleTimeout = Duration.ofMinutes(10);
  private Duration connectTimeout = Duration.ofSeconds(10);
  private int maxMessageSize = ProxyConfig.DEFAULT_MAX_MESSAGE_SIZE;
  private String serverResetQuery = "DISCARD ALL";
  private ClientAuth clientAuth = ClientAuth.SCRAM_SHA_256;
  private int workerThreads;
  private int maxPreparedStatements = 200;
  private SessionStateMode sessionState = SessionStateMode.PIN;
  private Duration clientLoginTimeout = Duration.ofSeconds(15);
  private int maxPendingLogins = 1000;
  private int loginFailureLimit = 10;
  private Duration loginFailureWindow = Duration.ofMinutes(1);
  private long maxMessageMemory = ProxyConfig.DEFAULT_MAX_MESSAGE_MEMORY;
  private int connectRetries = 8;
  private Duration serverCheckDelay = Duration.ofSeconds(30);
  private Duration shutdownTimeout = Duration.ofSeconds(30);
  private Duration tcpKeepaliveIdle = Duration.ofSeconds(30);
  private Duration tcpUserTimeout = Duration.ofSeconds(30);
  private java.util.Set<String> allowDatabases = java.util.Set.of();
  private java.util.Set<String> adminUsers = java.util.Set.of();
  private int maxPools = 100;
  private TlsMode tlsMode = TlsMode.ALLOW;
  private String tlsCert;
  private String tlsKey;
  private HostAndPort adminListen = new HostAndPort("127.0.0.1", 9930);
  private String adminToken;
  private Duration queryTimeout = Duration.ZERO;
  private CacheConfig cache = CacheConfig.DEFAULTS;
  private Duration idleTransactionTimeout = Duration.ZERO;

  ProxyConfigBuilder(Upstream upstream) {
    this.upstream = upstream;
  }

  public ProxyConfigBuilder listen(HostAndPort v) {
    listen = v;
    return this;
  }

  public ProxyConfigBuilder upstream(Upstream v) {
    upstream = v;
    return this;
  }

  public ProxyConfigBuilder poolMode(PoolMode v) {
    poolMode = v;
    return this;
  }

  public ProxyConfigBuilder poolSize(int v) {
    poolSize = v;
    return this;
  }

  public ProxyConfigBuilder minIdle(int v) {
    minIdle = v;
    return this;
  }

  public ProxyConfigBuilder acquireTimeout(Duration v) {
    acquireTimeout = v;
    return this;
  }

  public ProxyConfigBuilder maxClientConnections(int v) {
    maxClientConnections = v;
    return this;
  }

  public ProxyConfigBuilder serverLifetime(Duration v) {
    serverLifetime = v;
    return this;
  }

  public ProxyConfigBuilder serverIdleTimeout(Duration v) {
    serverIdleTimeout = v;
    return this;
  }

  public ProxyConfigBuilder connectTimeout(Duration v) {
    connectTimeout = v;
    return this;
  }

  public ProxyConfigBuilder maxMessageSize(int v) {
    maxMessageSize = v;
    return this;
  }

  public ProxyConfigBuilder serverResetQuery(String v) {
    serverResetQuery = v;
    return this;
  }

  public ProxyConfigBuilder clientAuth(ClientAuth v) {
    clientAuth = v;
    return this;
  }

  public ProxyConfigBuilder workerThreads(int v) {
    workerThreads = v;
    return this;
  }

  public ProxyConfigBuilder maxPreparedStatements(int v) {
    maxPreparedStatements = v;
    return this;
  }

  public ProxyConfigBuilder sessionState(SessionStateMode v) {
    sessionState = v;
    return this;
  }

  public ProxyConfigBuilder clientLoginTimeout(Duration v) {
    clientLoginTimeout = v;
    return this;
  }

  public ProxyConfigBuilder loginFailureLimit(int v) {
    loginFailureLimit = v;
    return this;
  }

  public ProxyConfigBuilder loginFailureWindow(Duration v) {
    loginFailureWindow = v;
    return this;
  }

  public ProxyConfigBuilder maxPendingLogins(int v) {
    maxPendingLogins = v;
    return this;
  }

  public ProxyConfigBuilder maxMessageMemory(long v) {
    maxMessageMemory = v;
    return this;
  }

  public ProxyConfigBuilder connectRetries(int v) {
    connectRetries = v;
    return this;
  }

  public ProxyConfigBuilder serverCheckDelay(Duration v) {
    serverCheckDelay = v;
    return this;
  }

  public ProxyConfigBuilder shutdownTimeout(Duration v) {
    shutdownTimeout = v;
    return this;
  }

  public ProxyConfigBuilder tcpKeepaliveIdle(Duration v) {
    tcpKeepaliveIdle = v;
    return this;
  }

  public ProxyConfigBuilder tcpUserTimeout(Duration v) {
    tcpUserTimeout = v;
    return this;
  }

  public ProxyConfigBuilder allowDatabases(java.util.Set<String> v) {
    allowDatabases = v;
    return this;
  }

  public ProxyConfigBuilder adminUsers(java.util.Set<String> v) {
    adminUsers = v;
    return this;
  }

  public ProxyConfigBuilder maxPools(int v) {
    maxPools = v;
    return this;
  }

  public ProxyConfigBuilder tlsMode(TlsMode v) {
    tlsMode = v;
    return this;
  }

  public ProxyConfigBuilder tlsCert(String v) {
    tlsCert = v;
    return this;
  }

  public ProxyConfigBuilder tlsKey(String v) {
    tlsKey = v;
    return this;
  }

  /** Null turns the admin port off. */
  public ProxyConfigBuilder adminListen(HostAndPort v) {
    adminListen = v;
    return this;
  }

  public ProxyConfigBuilder adminToken(String v) {
    adminToken = v;
    return this;
  }

  /** Changes the cache's settings: {@code b.cache(c -> c.withMaxAge(d))}. */
  public ProxyConfigBuilder cache(java.util.function.UnaryOperator<CacheConfig> change) {
    cache = change.apply(cache);
    return this;
  }

  public ProxyConfigBuilder queryTimeout(Duration v) {
    queryTimeout = v;
    return this;
  }

  public ProxyConfigBuilder idleTransactionTimeout(Duration v) {
    idleTransactionTimeout = v;
    return this;
  }

  public ProxyConfig build() {
    return new ProxyConfig(
        listen,
        upstream,
        poolMode,
        poolSize,
        minIdle,
        acquireTimeout,
        maxClientConnections,
        serverLifetime,
        serverIdleTimeout,
        connectTimeout,
        maxMessageSize,
        serverResetQuery,
        clientAuth,
        workerThreads,
        maxPreparedStatements,
        sessionState,
        clientLoginTimeout,
        maxPendingLogins,
        maxMessageMemory,
        connectRetries,
        serverCheckDelay,
        shutdownTimeout,
        tcpKeepaliveIdle,
        tcpUserTimeout,
        allowDatabases,
        maxPools,
        tlsMode,
        tlsCert,
        tlsKey,
        adminListen,
        adminToken,
        queryTimeout,
        idleTransactionTimeout,
        adminUsers,
        loginFailureLimit,
        loginFailureWindow,
        cache);
  }
}
