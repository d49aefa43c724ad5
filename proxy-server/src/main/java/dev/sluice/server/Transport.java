package dev.sluice.server;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.time.Duration;

/** The socket implementation: native epoll where the platform has it, NIO otherwise. */
record Transport(
    String name,
    IoHandlerFactory ioHandlerFactory,
    Class<? extends ServerChannel> serverChannel,
    Class<? extends SocketChannel> socketChannel) {

  static Transport best() {
    if (Epoll.isAvailable()) {
      return new Transport(
          "epoll",
          EpollIoHandler.newFactory(),
          EpollServerSocketChannel.class,
          EpollSocketChannel.class);
    }
    return new Transport(
        "nio", NioIoHandler.newFactory(), NioServerSocketChannel.class, NioSocketChannel.class);
  }

  /**
   * Keepalive probes and a user timeout on a backend socket, so that a backend the network lost (a
   * black hole, not a reset) is noticed in bounded time. Epoll only; NIO keeps the OS defaults.
   */
  void tuneBackendSocket(Bootstrap b, Duration keepaliveIdle, Duration userTimeout) {
    if (!name.equals("epoll")) {
      return;
    }
    b.option(EpollChannelOption.TCP_KEEPIDLE, (int) Math.max(1, keepaliveIdle.toSeconds()))
        .option(EpollChannelOption.TCP_KEEPINTVL, 10)
        .option(EpollChannelOption.TCP_KEEPCNT, 3)
        .option(EpollChannelOption.TCP_USER_TIMEOUT, (int) userTimeout.toMillis());
  }

  EventLoopGroup newGroup(int threads, String prefix) {
    return new MultiThreadIoEventLoopGroup(
        threads, new DefaultThreadFactory(prefix, true), ioHandlerFactory);
  }
}
