package dev.sluice.server;

import dev.sluice.auth.FailedLogins;
import dev.sluice.auth.ScramCredentials;
import dev.sluice.cache.ResultCache;
import dev.sluice.config.CacheConfig;
import dev.sluice.config.ConfigReload;
import dev.sluice.config.HostAndPort;
import dev.sluice.config.ProxyConfig;
import dev.sluice.engine.ProxyStats;
import dev.sluice.logging.LogThrottle;
import dev.sluice.protocol.MessageMemory;
import dev.sluice.resilience.ConnectGuard;
import dev.sluice.server.invalidation.InvalidationSource;
import dev.sluice.server.invalidation.NotifyInvalidation;
import dev.sluice.server.invalidation.WalInvalidation;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.security.SecureRandom;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What every connection of one running Sluice shares: the configuration snapshot, the pools, the
 * cancel keys, the client count and the pre-derived login secrets. Handed to each connection
 * through its constructor; nothing here is static.
 */
final class ProxyContext {
  private static final Logger log = LoggerFactory.getLogger(ProxyContext.class);

  /** Replaced whole by a reload (only the settings {@link ConfigReload} allows change). */
  private volatile ProxyConfig config;

  /** PAUSE in effect: pools made now start paused too. */
  private volatile boolean paused;

  /** Where RELOAD reads the configuration anew; null means "as started". */
  private volatile Supplier<ProxyConfig> reloadSource;

  /** What SHUTDOWN runs (a graceful drain); set by the server once it is up. */
  private volatile Runnable shutdown = () -> {};

  private final PoolRegistry pools;
  private final CancelRegistry cancels = new CancelRegistry();
  private final CancelForwarder cancelForwarder;
  private final BackendConnector connector;
  private final ClientLogin.Secrets secrets;
  private final Map<String, String> upstreamStartup;
  private final AtomicInteger clients = new AtomicInteger();
  private final PendingLogins pendingLogins;
  private final MessageMemory messageMemory;
  private final ProxyStats stats = new ProxyStats();
  private final ProxyMeters meters = new ProxyMeters();

  /**
   * Repeated events (login timeouts, connect failures, backends lost) are summed up, not listed.
   */
  private final LogThrottle logThrottle = new LogThrottle(10_000_000_000L, System::nanoTime);

  private final EventLoopGroup workers;
  private final ClientTls clientTls;
  private final FailedLogins failedLogins;
  private final ConnectGuard connectGuard;

  /** The query result cache, or null with {@code --cache off}. */
  private final ResultCache cache;

  private final CacheCatalogs cacheCatalogs;

  /** Every open client and backend channel, so shutdown can close them itself. */
  private final ChannelGroup clientChannels = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);

  private final ChannelGroup backendChannels =
      new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);

  ProxyContext(ProxyConfig config, Transport transport, EventLoopGroup workers) {
    this(config, transport, workers, ClientTls.of(config));
  }

  /**
   * @param clientTls TLS for clients as {@link ClientTls#of} made it; null for none
   */
  ProxyContext(
      ProxyConfig config, Transport transport, EventLoopGroup workers, ClientTls clientTls) {
    this.config = config;
    this.workers = workers;
    this.clientTls = clientTls;
    this.connector =
        new BackendConnector(config, transport, workers, backendChannels, meters.serverBytes());
    this.connectGuard =
        new ConnectGuard(
            config.upstream().hosts().stream().map(HostAndPort::toString).toList(),
            config.connectRetries(),
            (circuit, change) ->
                log.warn(
                    "upstream host {}: circuit {}{}",
                    circuit.host(),
                    change,
                    change.endsWith("-> OPEN")
                        ? " (last failure: " + circuit.lastFailure() + ")"
                        : ""));
    this.cancelForwarder = new CancelForwarder(transport);
    this.pools = new PoolRegistry(this);
    this.pendingLogins = new PendingLogins(config.maxPendingLogins());
    this.failedLogins = new FailedLogins(config.loginFailureLimit(), config.loginFailureWindow());
    this.messageMemory = new MessageMemory(config.maxMessageMemory());
    var up = config.upstream();
    byte[] mockSecret = new byte[32];
    new SecureRandom().nextBytes(mockSecret);
    // Derived once here, not per login: PBKDF2 with 4096 rounds costs milliseconds of CPU.
    this.secrets =
        new ClientLogin.Secrets(
            up.user(), up.password(), ScramCredentials.derive(up.password()), mockSecret);
    Map<String, String> extra = new LinkedHashMap<>();
    for (String k : new String[] {"application_name", "options"}) {
      String v = up.parameters().get(k);
      if (v != null) {
        extra.put(k, v);
      }
    }
    this.upstreamStartup = Map.copyOf(extra);
    CacheConfig cc = config.cache();
    if (cc.enabled()) {
      this.cache =
          new ResultCache(
              new ResultCache.Settings(
                  cc.maxSize(), cc.maxEntrySize(), cc.maxAge(), cc.staleWhileRevalidate()));
      this.cacheCatalogs = new CacheCatalogs(config.upstream(), cache);
      cache.onCatalogWanted(cacheCatalogs::load);
    } else {
      this.cache = null;
      this.cacheCatalogs = null;
    }
  }

  /** Where the cache hears of writes made around Sluice (NOTIFY, WAL); empty without them. */
  private final java.util.List<InvalidationSource> invalidationSources =
      new java.util.concurrent.CopyOnWriteArrayList<>();

  /**
   * Starts the invalidation sources {@code --cache-invalidation} and {@code
   * --cache-invalidation-channel} ask for. Each runs on a thread of its own and never fails the
   * start: a database that cannot feed it is reported in its status and the log.
   */
  void startInvalidationSources() {
    if (cache == null) {
      return;
    }
    CacheConfig cc = config.cache();
    if (cc.channel() != null) {
      try {
        invalidationSources.add(new NotifyInvalidation(config.upstream(), cc.channel(), cache));
      } catch (IllegalArgumentException e) {
        throw new dev.sluice.config.ConfigException(
            "--cache-invalidation-channel", cc.channel(), e.getMessage());
      }
    }
    if (cc.invalidation() == CacheConfig.Invalidation.WAL) {
      invalidationSources.add(
          new WalInvalidation(
              config.upstream(),
              cache,
              WalInvalidation.Settings.defaults().withPublication(cc.publication())));
    }
    invalidationSources.forEach(InvalidationSource::start);
  }

  java.util.List<InvalidationSource> invalidationSources() {
    return invalidationSources;
  }

  void stopInvalidationSources() {
    if (cacheCatalogs != null) {
      cacheCatalogs.close();
    }
    for (InvalidationSource source : invalidationSources) {
      try {
        source.close();
      } catch (Exception e) {
        log.warn("closing {}: {}", source, dev.sluice.error.SafeErrors.describe(e));
      }
    }
  }

  /** The query result cache, or null when it is off. */
  ResultCache cache() {
    return cache;
  }

  /** Reads the catalogs the cache decides with; null when the cache is off. */
  CacheCatalogs cacheCatalogs() {
    return cacheCatalogs;
  }

  ProxyConfig config() {
    return config;
  }

  /** Runs with a reloaded configuration from now on. */
  void reconfigure(ConfigReload reload) {
    config = reload.config();
  }

  boolean paused() {
    return paused;
  }

  void paused(boolean p) {
    paused = p;
  }

  Supplier<ProxyConfig> reloadSource() {
    return reloadSource;
  }

  void reloadSource(Supplier<ProxyConfig> source) {
    reloadSource = source;
  }

  Runnable shutdown() {
    return shutdown;
  }

  void shutdown(Runnable action) {
    shutdown = action;
  }

  PoolRegistry pools() {
    return pools;
  }

  CancelRegistry cancels() {
    return cancels;
  }

  CancelForwarder cancelForwarder() {
    return cancelForwarder;
  }

  BackendConnector connector() {
    return connector;
  }

  Map<String, String> upstreamStartupParameters() {
    return upstreamStartup;
  }

  ChannelGroup clientChannels() {
    return clientChannels;
  }

  ChannelGroup backendChannels() {
    return backendChannels;
  }

  ProxyStats stats() {
    return stats;
  }

  /** Timings and byte counts, in the registry {@code /metrics} scrapes. */
  ProxyMeters meters() {
    return meters;
  }

  /** Retries and the circuit breakers for backend connects to the upstream. */
  ConnectGuard connectGuard() {
    return connectGuard;
  }

  /** TLS for clients, or null when they cannot have it. */
  ClientTls clientTls() {
    return clientTls;
  }

  /** An event loop for work that belongs to no client (warm-up connects). */
  EventLoop anyLoop() {
    return workers.next();
  }

  LogThrottle logThrottle() {
    return logThrottle;
  }

  /**
   * @param channelBinding see {@link ClientLogin#ClientLogin}; null for a client in plain text
   */
  ClientLogin newLogin(String user, byte[] channelBinding) {
    return new ClientLogin(config.clientAuth(), secrets, user, channelBinding);
  }

  /** Failed logins per client address (--login-failure-limit). */
  FailedLogins failedLogins() {
    return failedLogins;
  }

  PendingLogins pendingLogins() {
    return pendingLogins;
  }

  MessageMemory messageMemory() {
    return messageMemory;
  }

  /** Counts a client that completed its login, unless {@code --max-client-connections} are in. */
  boolean tryAdmitClient() {
    int max = config.maxClientConnections();
    while (true) {
      int n = clients.get();
      if (n >= max) {
        return false;
      }
      if (clients.compareAndSet(n, n + 1)) {
        return true;
      }
    }
  }

  void clientClosed() {
    clients.decrementAndGet();
  }

  int clientCount() {
    return clients.get();
  }
}
