package dev.sluice.server;

import dev.sluice.config.ConfigException;
import dev.sluice.config.ProxyConfig;
import dev.sluice.config.TlsMode;
import dev.sluice.engine.ProxyStats;
import dev.sluice.error.SqlState;
import dev.sluice.protocol.FrameDecoder;
import dev.sluice.protocol.MessageMemory;
import dev.sluice.protocol.Severity;
import dev.sluice.protocol.backend.ErrorResponse;
import dev.sluice.resilience.HostCircuit;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running Sluice: the client listener, the backend pools and the event loops behind them. {@link
 * #start} binds, warms the default pool and starts the periodic sweeps ({@link Janitor}); {@link
 * #close} stops accepting, fails waiters, closes connections and stops the loops.
 */
public final class SluiceServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(SluiceServer.class);

  /** Outbound buffer bounds per channel: past the high mark the peer stops being read. */
  private static final WriteBufferWaterMark WATER_MARK =
      new WriteBufferWaterMark(256 * 1024, 1024 * 1024);

  private static final ErrorResponse SHUTDOWN_NOTICE =
      ErrorResponse.of(
          Severity.FATAL,
          SqlState.ADMIN_SHUTDOWN.code(),
          "terminating connection due to administrator command",
          "Sluice is shutting down.",
          null);

  private final ProxyConfig config;
  private final EventLoopGroup boss;
  private final EventLoopGroup workers;
  private final ProxyContext ctx;
  private final Channel listener;
  private final Janitor janitor;
  private volatile AdminServer admin;
  private final CountDownLatch terminated = new CountDownLatch(1);

  private SluiceServer(
      ProxyConfig config,
      EventLoopGroup boss,
      EventLoopGroup workers,
      ProxyContext ctx,
      Channel listener) {
    this.config = config;
    this.boss = boss;
    this.workers = workers;
    this.ctx = ctx;
    this.listener = listener;
    this.janitor = new Janitor(ctx);
  }

  /** Binds the listener (port 0 picks a free one) and opens {@code min-idle} backends. */
  public static SluiceServer start(ProxyConfig config) {
    if (config.upstream().password() == null) {
      throw new ConfigException(
          "--upstream",
          config.upstream().toString(),
          "the upstream URL must carry a password: clients log in to Sluice with it");
    }
    // Certificate and key files are read now, so that a bad one stops the start.
    BackendTls.of(config.upstream());
    ClientTls clientTls = ClientTls.of(config);
    if (clientTls == null) {
      log.info(
          "TLS from clients is off: {} (SSLRequest answered N)",
          config.tlsMode() == TlsMode.DISABLE
              ? "--tls-mode disable"
              : "no --tls-cert (a file, or self-signed for development)");
    }
    Transport transport = Transport.best();
    int threads =
        config.workerThreads() > 0
            ? config.workerThreads()
            : Runtime.getRuntime().availableProcessors();
    EventLoopGroup boss = transport.newGroup(1, "sluice-accept");
    EventLoopGroup workers = transport.newGroup(threads, "sluice-io");
    ProxyContext ctx = new ProxyContext(config, transport, workers, clientTls);
    try {
      ServerBootstrap b =
          new ServerBootstrap()
              .group(boss, workers)
              .channel(transport.serverChannel())
              .option(ChannelOption.SO_BACKLOG, 4096)
              .option(ChannelOption.SO_REUSEADDR, true)
              .childOption(ChannelOption.TCP_NODELAY, true)
              .childOption(ChannelOption.SO_KEEPALIVE, true)
              .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, WATER_MARK)
              .childHandler(
                  new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                      ctx.clientChannels().add(ch);
                      ch.config().setWriteBufferWaterMark(WATER_MARK);
                      if (ctx.clientTls() != null) {
                        ch.pipeline().addLast("direct-tls", new DirectTlsDetector(ctx.clientTls()));
                      }
                      ch.pipeline()
                          .addLast("bytes", ctx.meters().clientBytes())
                          .addLast(
                              "frames",
                              FrameDecoder.forClient(config.maxMessageSize(), ctx.messageMemory()))
                          .addLast("client", new ClientConnection(ctx));
                    }
                  });
      Channel listener =
          b.bind(config.listen().host(), config.listen().port()).syncUninterruptibly().channel();
      SluiceServer server = new SluiceServer(config, boss, workers, ctx, listener);
      ctx.shutdown(() -> server.drain(ctx.config().shutdownTimeout()));
      if (config.adminListen() != null) {
        try {
          server.admin = AdminServer.start(config.adminListen(), transport, ctx);
        } catch (RuntimeException e) {
          listener.close().syncUninterruptibly();
          throw new ConfigException(
              "--admin-listen", config.adminListen().toString(), "cannot bind: " + e.getMessage());
        }
      }
      server.warmUp();
      ctx.startInvalidationSources();
      log.info(
          "listening on {} ({}, {} event loops), upstream {}, admin port {}",
          server.localAddress(),
          transport.name(),
          threads,
          config.upstream(),
          server.adminAddress() == null ? "off" : server.adminAddress());
      return server;
    } catch (RuntimeException e) {
      boss.shutdownGracefully(0, 1, TimeUnit.SECONDS);
      workers.shutdownGracefully(0, 1, TimeUnit.SECONDS);
      throw e;
    }
  }

  private void warmUp() {
    var up = config.upstream();
    ServerPool pool = ctx.pools().get(new PoolKey(up.database(), up.user()));
    pool.pool().ensureMinIdle();
    janitor.start(workers);
  }

  /** Clients, each pool's counts and prepared statements, and the counters since start. */
  public String statsLine() {
    return janitor.statsLine();
  }

  /** The cache's invalidation sources (NOTIFY, WAL); for tests. */
  java.util.List<dev.sluice.server.invalidation.InvalidationSource> invalidationSources() {
    return ctx.invalidationSources();
  }

  /** The query result cache, or null when it is off; for tests and the admin port. */
  dev.sluice.cache.ResultCache cache() {
    return ctx.cache();
  }

  /** The address clients connect to; the real port when the configured one was 0. */
  public InetSocketAddress localAddress() {
    return (InetSocketAddress) listener.localAddress();
  }

  /** The pools, for tests and diagnostics. */
  java.util.Collection<ServerPool> pools() {
    return ctx.pools().all();
  }

  /** Where the admin port listens; null when it is off. */
  public InetSocketAddress adminAddress() {
    return admin == null ? null : admin.localAddress();
  }

  /** The shared budget for clients' incomplete messages. */
  MessageMemory messageMemory() {
    return ctx.messageMemory();
  }

  /** Backend connect attempts made (each retry counts). */
  long connectAttempts() {
    return ctx.connectGuard().attempts();
  }

  /** Each upstream host's circuit breaker. */
  List<HostCircuit> circuits() {
    return ctx.connectGuard().circuits();
  }

  /** The upstream's circuit breaker: CLOSED, OPEN or HALF_OPEN (PARTLY_OPEN: hosts differ). */
  String circuitState() {
    return ctx.connectGuard().state();
  }

  /** Connections that have not completed their login. */
  int pendingLogins() {
    return ctx.pendingLogins().size();
  }

  /** Clients that completed their login and are still connected. */
  int loggedInClients() {
    return ctx.clientCount();
  }

  /** Counters since start. */
  ProxyStats stats() {
    return ctx.stats();
  }

  /** The pools that exist, as {@code database/user}. */
  public List<String> poolNames() {
    return ctx.pools().all().stream().map(p -> p.key().toString()).sorted().toList();
  }

  /**
   * Clients that owe answers to requests and have had none for at least {@code atLeast}, one line
   * each. A request must always end with a result or an error; any line here is a client left
   * hanging.
   */
  public List<String> stalledClients(Duration atLeast) {
    List<String> out = new ArrayList<>();
    for (Channel ch : ctx.clientChannels()) {
      ClientConnection c = ch.pipeline().get(ClientConnection.class);
      if (c == null) {
        continue;
      }
      try {
        String d =
            ch.eventLoop()
                .submit(() -> c.describeIfStalled(atLeast.toNanos()))
                .get(5, TimeUnit.SECONDS);
        if (d != null) {
          out.add(d);
        }
      } catch (ExecutionException | TimeoutException e) {
        out.add(c + ": could not inspect: " + e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    return out;
  }

  /**
   * Where RELOAD (console, admin port, SIGHUP) reads the configuration anew. Without one a reload
   * re-applies the configuration the server started with.
   */
  public void reloadFrom(java.util.function.Supplier<ProxyConfig> source) {
    ctx.reloadSource(source);
  }

  /**
   * Reads the configuration again and applies what can change while running (pool limits and
   * timeouts, client admission); other changes are listed as needing a restart.
   *
   * @return {@code applied} and {@code needsRestart}, each a list of {@code name: old -> new}
   * @throws ConfigException when the new configuration is invalid; nothing changes then
   */
  public java.util.Map<String, Object> reload(String who) {
    return new AdminActions(ctx).reload(who);
  }

  /** Blocks until {@link #close} has finished. */
  public void awaitTermination() throws InterruptedException {
    terminated.await();
  }

  /**
   * A graceful stop (SIGTERM): no new clients; no new transactions (a client that asks for a
   * backend now hears 57P01); transactions in flight finish, for up to {@code timeout}; then {@link
   * #close} tells everyone left 57P01 and stops.
   */
  public void drain(Duration timeout) {
    if (terminated.getCount() == 0) {
      return;
    }
    log.info("draining: no new clients or transactions; up to {} for those in flight", timeout);
    listener.close().syncUninterruptibly();
    ctx.pools().all().forEach(p -> p.pool().close());
    long deadline = System.nanoTime() + timeout.toNanos();
    while (activeBackends() > 0 && System.nanoTime() - deadline < 0) {
      try {
        Thread.sleep(20); // polling a count; nothing to wait on that says "all released"
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    int left = activeBackends();
    if (left > 0) {
      log.info("drain timed out with {} backends still in use; closing them", left);
    }
    close();
  }

  private int activeBackends() {
    int n = 0;
    for (ServerPool p : ctx.pools().all()) {
      n += p.pool().stats().active();
    }
    return n;
  }

  @Override
  public void close() {
    if (terminated.getCount() == 0) {
      return;
    }
    log.info("stats at shutdown: {}", statsLine());
    listener.close().syncUninterruptibly();
    ctx.stopInvalidationSources();
    if (admin != null) {
      admin.close();
    }
    ctx.pools().all().forEach(p -> p.pool().close());
    // Clients hear why (as from a PostgreSQL shutting down), then every connection is closed
    // here rather than left to the event loops' end.
    for (Channel ch : ctx.clientChannels()) {
      ByteBuf out = ch.alloc().buffer(128);
      SHUTDOWN_NOTICE.encode(out);
      ch.writeAndFlush(out).addListener(ChannelFutureListener.CLOSE);
    }
    ctx.clientChannels().newCloseFuture().awaitUninterruptibly(2, TimeUnit.SECONDS);
    ctx.backendChannels().close().awaitUninterruptibly(2, TimeUnit.SECONDS);
    boss.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    workers.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    ctx.logThrottle().flushAll();
    terminated.countDown();
    log.info("stopped");
  }
}
