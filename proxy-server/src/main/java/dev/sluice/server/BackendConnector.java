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

  /** Connects on {@code loop} (or any worker loop when null). */
  CompletableFuture<ServerConnection> connect(EventLoop loop, ServerPool pool) {
    EventLoop l = loop != null ? loop : workers.next();
    CompletableFuture<ServerConnection> result = new CompletableFuture<>();
    tryHost(l, pool, config.upstream().hosts(), 0, true, result);
    l.schedule(
        () -> {
          result.completeExceptionally(
              new TransientConnectException(
                  "could not connect to the upstream server within "
                      + config.connectTimeout().toMillis()
                      + " ms (--connect-timeout)"));
        },
        config.connectTimeout().toMillis(),
        TimeUnit.MILLISECONDS);
    return result;
  }

  private void tryHost(
      EventLoop loop,
      ServerPool pool,
      List<HostAndPort> hosts,
      int index,
      boolean strict,
      CompletableFuture<ServerConnection> result) {
    HostAndPort hp = hosts.get(index);
    resolve(hp)
        .whenComplete(
            (address, failure) ->
                loop.execute(
                    () -> {
                      if (result.isDone()) {
                        return;
                      }
                      if (failure != null || address.isUnresolved()) {
                        SluiceException e =
                            unableToConnect(
                                hp, new UnknownHostException("unknown host " + hp.host()));
                        next(loop, pool, hosts, index, strict, result, e);
                        return;
                      }
                      connect(loop, pool, hosts, index, strict, address, tls.tryTlsFirst(), result);
                    }));
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

  private void connect(
      EventLoop loop,
      ServerPool pool,
      List<HostAndPort> hosts,
      int index,
      boolean strict,
      InetSocketAddress address,
      boolean withTls,
      CompletableFuture<ServerConnection> result) {
    HostAndPort hp = hosts.get(index);
    CompletableFuture<ServerConnection> login = new CompletableFuture<>();
    Bootstrap b =
        new Bootstrap()
            .group(loop)
            .channel(transport.socketChannel())
            .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) config.connectTimeout().toMillis())
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
            if (!attrs.accepts(s.startupReport(), strict)) {
              // target_session_attrs: a working server, but not the kind asked for.
              s.close("not " + attrs.wanted());
              next(loop, pool, hosts, index, strict, result, notWanted(hp));
            } else if (!result.complete(s)) {
              s.close("connect attempt timed out");
            }
          } else if (withTls
              && tls.plainAllowed()
              && e instanceof BackendTlsNegotiator.TlsHandshakeException) {
            // sslmode=prefer: TLS failed, plain text may do
            connect(loop, pool, hosts, index, strict, address, false, result);
          } else if (!withTls && tls.mode() == Upstream.SslMode.ALLOW && refusedPlain(e)) {
            // sslmode=allow: the server insists on TLS
            connect(loop, pool, hosts, index, strict, address, true, result);
          } else if (e instanceof ServerErrorException) {
            result.completeExceptionally(e);
          } else {
            next(loop, pool, hosts, index, strict, result, e);
          }
        });
    result.whenComplete(
        (s, e) -> {
          if (e != null && cf.channel().isOpen()) {
            cf.channel().close();
          }
        });
  }

  /**
   * After host {@code index} failed or did not fit: the next host; after the last, a second pass
   * for prefer-standby (any host will do now), else the failure.
   */
  private void next(
      EventLoop loop,
      ServerPool pool,
      List<HostAndPort> hosts,
      int index,
      boolean strict,
      CompletableFuture<ServerConnection> result,
      Throwable failure) {
    if (result.isDone()) {
      return;
    }
    if (index + 1 < hosts.size()) {
      tryHost(loop, pool, hosts, index + 1, strict, result);
    } else if (strict && attrs == TargetSessionAttrs.PREFER_STANDBY) {
      tryHost(loop, pool, hosts, 0, false, result);
    } else {
      result.completeExceptionally(failure);
    }
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
