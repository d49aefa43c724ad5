package dev.sluice.server;

import dev.sluice.config.HostAndPort;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.timeout.ReadTimeoutHandler;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/**
 * The admin HTTP port: a small Netty HTTP/1.1 server on an event loop of its own, so that scrapes
 * and status pages never queue behind client traffic (and a busy relay never starves them). Request
 * lines, headers and bodies are bounded (414, 431, 413, then close); an idle connection is closed
 * after {@value #IDLE_SECONDS} s.
 */
final class AdminServer implements AutoCloseable {
  static final int MAX_INITIAL_LINE = 4096;
  static final int MAX_HEADER_SIZE = 8192;
  static final int MAX_BODY = 64 * 1024;
  private static final int IDLE_SECONDS = 30;

  private final EventLoopGroup group;
  private final Channel listener;

  private AdminServer(EventLoopGroup group, Channel listener) {
    this.group = group;
    this.listener = listener;
  }

  static AdminServer start(HostAndPort at, Transport transport, ProxyContext ctx) {
    EventLoopGroup group = transport.newGroup(1, "sluice-admin");
    AdminHandler.Routes routes = new AdminHandler.Routes(ctx);
    try {
      Channel ch =
          new ServerBootstrap()
              .group(group)
              .channel(transport.serverChannel())
              .childHandler(
                  new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel c) {
                      c.pipeline()
                          .addLast(new ReadTimeoutHandler(IDLE_SECONDS, TimeUnit.SECONDS))
                          .addLast(new HttpServerCodec(MAX_INITIAL_LINE, MAX_HEADER_SIZE, 8192))
                          .addLast(new AdminHandler.Limits())
                          .addLast(new HttpObjectAggregator(MAX_BODY))
                          .addLast(new AdminHandler(routes));
                    }
                  })
              .bind(at.host(), at.port())
              .syncUninterruptibly()
              .channel();
      return new AdminServer(group, ch);
    } catch (RuntimeException e) {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
      throw e;
    }
  }

  InetSocketAddress localAddress() {
    return (InetSocketAddress) listener.localAddress();
  }

  @Override
  public void close() {
    listener.close().syncUninterruptibly();
    group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
  }
}
