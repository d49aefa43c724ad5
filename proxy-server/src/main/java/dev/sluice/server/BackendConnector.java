package dev.sluice.server;

import dev.sluice.config.HostAndPort;
import dev.sluice.config.ProxyConfig;
import dev.sluice.config.TargetSessionAttrs;
import dev.sluice.config.Upstream;
import dev.sluice.error.SafeErrors;
import dev.sluice.error.ServerErrorException;
import dev.sluice.error.SluiceException;
import dev.sluice.error.SqlState;
import dev.sluice.protocol.FrameDecoder;
import dev.sluice.resilience.CircuitOpenException;
import dev.sluice.resilience.ConnectFailures;
import dev.sluice.resilience.ConnectRun;
import dev.sluice.resilience.TransientConnectException;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.util.NetUtil;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * Opens logged-in backend connections. Hosts of the upstream URL are tried in order; the whole
 * attempt (TCP connect plus login) is bounded by {@code --connect-timeout}.
 */
final class BackendConnector {
  /** Host name lookups, which block, run here and never on an event loop. */
  private static final Executor RESOLVER =
      Executors.newCachedThreadPool(new DefaultThreadFactory("sluice-resolver", true));

  /** PostgreSQL never sends a message over 1 GB. */
  private static final int MAX_BACKEND_MESSAGE = ProxyConfig.MAX_MESSAGE_SIZE_LIMIT;

  private final ProxyConfig config;
  private final BackendTls tls;
  private final Transport transport;
  private final EventLoopGroup workers;
  private final ChannelGroup channels;
  private final TargetSessionAttrs attrs;
  private final ByteCounter bytes;

  BackendConnector(
      ProxyConfig config,
      Transport transport,
      EventLoopGroup workers,
      ChannelGroup channels,
      ByteCounter bytes) {
    this.config = config;
    this.tls = BackendTls.of(config.upstream());
    this.transport = transport;
    this.workers = workers;
    this.channels = channels;
    this.attrs = TargetSessionAttrs.of(config.upstream());
    this.bytes = bytes;
  }

  /**
   * Connects on {@code loop} (or any worker loop when null), reaching each host through {@code run}
   * so a host whose circuit is open is skipped.
   */
  CompletableFuture<ServerConnection> connect(EventLoop loop, ServerPool pool, ConnectRun run) {
    EventLoop l = loop != null ? loop : workers.next();
    Attempt a = new Attempt(l, pool, run);
    a.tryHost(0, true);
    l.schedule(
        () -> {
          a.result.completeExceptionally(
              new TransientConnectException(
                  "could not connect to the upstream server within "
                      + config.connectTimeout().toMillis()
                      + " ms (--connect-timeout)"));
        },
        config.connectTimeout().toMillis(),
        TimeUnit.MILLISECONDS);
    return a.result;
  }

  /** One pass over the hosts, libpq style. */
  private final class Attempt {
    final EventLoop loop;
    final ServerPool pool;
    final ConnectRun run;
    final CompletableFuture<ServerConnection> result = new CompletableFuture<>();
    final List<HostAndPort> hosts = config.upstream().hosts();

    /** The last failure of a host that was tried, not skipped for its open circuit. */
    Throwable lastTried;

    Attempt(EventLoop loop, ServerPool pool, ConnectRun run) {
      this.loop = loop;
      this.pool = pool;
      this.run = run;
    }

    void tryHost(int index, boolean strict) {
      HostAndPort hp = hosts.get(index);
      run.visit(hp.toString(), () -> login(hp))
          .whenComplete(
              (s, e) -> {
                if (loop.inEventLoop()) {
                  after(index, strict, hp, s, e);
                } else {
                  loop.execute(() -> after(index, strict, hp, s, e));
                }
              });
    }

    private void after(int index, boolean strict, HostAndPort hp, ServerConnection s, Throwable e) {
      if (e == null) {
        if (!attrs.accepts(s.startupReport(), strict)) {
          // target_session_attrs: a working server, but not the kind asked for.
          s.close("not " + attrs.wanted());
          next(index, strict, notWanted(hp));
        } else if (!result.complete(s)) {
          s.close("connect attempt timed out");
        }
        return;
      }
      Throwable cause = ConnectFailures.unwrap(e);
      if (cause instanceof ServerErrorException && !ConnectFailures.isTransient(cause)) {
        // the server's own answer about this login (no such database, wrong password): final
        result.completeExceptionally(cause);
        return;
      }
      if (!(cause instanceof CircuitOpenException)) {
        lastTried = cause;
      }
      next(index, strict, cause);
    }

    /**
     * After host {@code index} failed or did not fit: the next host; after the last, a second pass
     * for prefer-standby (any host will do now), else the failure (a host that was tried rather
     * than one skipped for its open circuit, so a retry follows where it may help).
     */
    private void next(int index, boolean strict, Throwable failure) {
      if (result.isDone()) {
        return;
      }
      if (index + 1 < hosts.size()) {
        tryHost(index + 1, strict);
      } else if (strict && attrs == TargetSessionAttrs.PREFER_STANDBY) {
        tryHost(0, false);
      } else {
        result.completeExceptionally(
            failure instanceof CircuitOpenException && lastTried != null ? lastTried : failure);
      }
    }

    /** A logged-in connection to {@code hp}, TLS as sslmode says, or why not. */
    private CompletableFuture<ServerConnection> login(HostAndPort hp) {
      CompletableFuture<ServerConnection> login = new CompletableFuture<>();
      resolve(hp)
          .whenComplete(
              (address, failure) ->
                  loop.execute(
                      () -> {
                        if (result.isDone()) {
                          login.cancel(false);
                        } else if (failure != null || address.isUnresolved()) {
                          login.completeExceptionally(
                              unableToConnect(
                                  hp, new UnknownHostException("unknown host " + hp.host())));
                        } else {
                          open(hp, address, tls.tryTlsFirst(), login);
                        }
                      }));
      return login;
    }

    private void open(
        HostAndPort hp,
        InetSocketAddress address,
        boolean withTls,
        CompletableFuture<ServerConnection> done) {
      CompletableFuture<ServerConnection> login = new CompletableFuture<>();
      Bootstrap b =
          new Bootstrap()
              .group(loop)
              .channel(transport.socketChannel())
              .option(
                  ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) config.connectTimeout().toMillis())
              .option(ChannelOption.TCP_NODELAY, true)
              .option(ChannelOption.SO_KEEPALIVE, true)
              .handler(
                  new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                      channels.add(ch);
                      if (withTls) {
                        ch.pipeline().addLast("tls-request", new BackendTlsNegotiator(tls, hp));
                      }
                      ch.pipeline()
                          .addLast("bytes", bytes)
                          .addLast("frames", FrameDecoder.forServer(MAX_BACKEND_MESSAGE))
                          .addLast("server", new ServerConnection(pool, login));
                    }
                  });
      transport.tuneBackendSocket(b, config.tcpKeepaliveIdle(), config.tcpUserTimeout());
      ChannelFuture cf = b.connect(address);
      cf.addListener(
          f -> {
            if (!f.isSuccess()) {
              login.completeExceptionally(unableToConnect(hp, f.cause()));
            }
          });
      login.whenComplete(
          (s, e) -> {
            if (e == null) {
              done.complete(s);
            } else if (withTls
                && tls.plainAllowed()
                && e instanceof BackendTlsNegotiator.TlsHandshakeException) {
              // sslmode=prefer: TLS failed, plain text may do
              open(hp, address, false, done);
            } else if (!withTls && tls.mode() == Upstream.SslMode.ALLOW && refusedPlain(e)) {
              // sslmode=allow: the server insists on TLS
              open(hp, address, true, done);
            } else {
              done.completeExceptionally(e);
            }
          });
      result.whenComplete(
          (s, e) -> {
            if (e != null && cf.channel().isOpen()) {
              cf.channel().close();
            }
          });
    }
  }

  /**
   * The address of {@code hp}: at once for an IP literal; otherwise looked up off the event loops
   * (the JDK resolver blocks, and honours /etc/hosts and its own cache).
   */
  private CompletableFuture<InetSocketAddress> resolve(HostAndPort hp) {
    byte[] literal = NetUtil.createByteArrayFromIpAddressString(hp.host());
    if (literal != null) {
      try {
        return CompletableFuture.completedFuture(
            new InetSocketAddress(InetAddress.getByAddress(hp.host(), literal), hp.port()));
      } catch (UnknownHostException e) {
        return CompletableFuture.failedFuture(e);
      }
    }
    return CompletableFuture.supplyAsync(
        () -> new InetSocketAddress(hp.host(), hp.port()), RESOLVER);
  }

  private SluiceException notWanted(HostAndPort hp) {
    return new TransientConnectException(
        "no upstream host is "
            + attrs.wanted()
            + " (target_session_attrs="
            + attrs.flagValue()
            + "); the last tried was "
            + hp);
  }

  /** PostgreSQL's refusal of a connection without TLS (pg_hba: hostssl only). */
  private static boolean refusedPlain(Throwable e) {
    return e instanceof ServerErrorException se
        && se.error().sqlState().equals(SqlState.INVALID_AUTHORIZATION_SPECIFICATION.code());
  }

  private static SluiceException unableToConnect(HostAndPort hp, Throwable cause) {
    return new TransientConnectException(
        "could not connect to the upstream server at " + hp + ": " + rootMessage(cause));
  }

  private static String rootMessage(Throwable t) {
    Throwable c = t;
    for (int i = 0; i < 8 && c.getCause() != null && c.getCause() != c; i++) {
      c = c.getCause();
    }
    String m = c.getMessage();
    return m != null ? m : SafeErrors.describe(t);
  }
}
