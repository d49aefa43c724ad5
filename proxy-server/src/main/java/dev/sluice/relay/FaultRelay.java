package dev.sluice.relay;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.Future;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A userspace TCP relay that adds network faults: it accepts connections, opens one to the target
 * for each, and passes bytes both ways through a {@link Pipe} per direction that can add latency,
 * limit bandwidth, black-hole, or close after a number of bytes. Connections can be reset (RST) on
 * demand and new ones refused. Faults are switched while it runs and apply at once to open
 * connections and to new ones. Tests use it to put a bad network between Sluice and PostgreSQL;
 * {@code sluice relay} runs it from the command line.
 *
 * <p>What it cannot do, being in userspace: the kernel under it still completes handshakes, ACKs
 * every byte that fits in a socket's receive buffer and answers keepalive probes. So in a black
 * hole a peer's TCP sees its data acknowledged until the relay's receive buffer is full (then a
 * zero window); keepalive never fires, and TCP_USER_TIMEOUT fires only once the window has closed
 * with data still unsent. {@link Builder#socketBuffers} shrinks those buffers so the window closes
 * sooner. A refused connection is accepted and then reset, not answered with a RST to its SYN.
 */
public final class FaultRelay implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(FaultRelay.class);

  private final InetSocketAddress target;
  private final EventLoopGroup group;
  private final Channel server;
  private final Set<RelayLink> links = ConcurrentHashMap.newKeySet();
  private final Object lock = new Object();
  private final Map<Direction, Faults> faults = new EnumMap<>(Direction.class);
  private volatile boolean refusing;
  private final LongAdder accepted = new LongAdder();
  private final LongAdder refused = new LongAdder();
  private final LongAdder resets = new LongAdder();
  private final LongAdder bytesUp = new LongAdder();
  private final LongAdder bytesDown = new LongAdder();

  private FaultRelay(Builder b) {
    this.target = b.target;
    faults.put(Direction.UPSTREAM, Faults.NONE);
    faults.put(Direction.DOWNSTREAM, Faults.NONE);
    this.group =
        new MultiThreadIoEventLoopGroup(
            b.threads, new DefaultThreadFactory("sluice-relay", true), NioIoHandler.newFactory());
    Bootstrap outbound =
        new Bootstrap()
            .channel(NioSocketChannel.class)
            .option(ChannelOption.AUTO_READ, false)
            .option(ChannelOption.TCP_NODELAY, true)
            .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) b.connectTimeout.toMillis());
    ServerBootstrap sb =
        new ServerBootstrap()
            .group(group)
            .channel(NioServerSocketChannel.class)
            .option(ChannelOption.SO_REUSEADDR, true)
            .childOption(ChannelOption.AUTO_READ, false)
            .childOption(ChannelOption.TCP_NODELAY, true)
            .childHandler(
                new ChannelInitializer<SocketChannel>() {
                  @Override
                  protected void initChannel(SocketChannel ch) {
                    accept(ch, outbound);
                  }
                });
    if (b.socketBuffers > 0) {
      // On the listening socket, so accepted sockets start with it and the window scale fits.
      sb.option(ChannelOption.SO_RCVBUF, b.socketBuffers)
          .childOption(ChannelOption.SO_SNDBUF, b.socketBuffers);
      outbound
          .option(ChannelOption.SO_RCVBUF, b.socketBuffers)
          .option(ChannelOption.SO_SNDBUF, b.socketBuffers);
    }
    ChannelFuture bound = sb.bind(b.listen).awaitUninterruptibly();
    if (!bound.isSuccess()) {
      group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
      throw new IllegalStateException(
          "the relay cannot listen on " + b.listen + ": " + bound.cause().getMessage(),
          bound.cause());
    }
    this.server = bound.channel();
    log.debug("relay listening on {}, target {}", server.localAddress(), target);
  }

  /** A relay with no faults yet, from {@code listen} (port 0: any free port) to {@code target}. */
  public static FaultRelay start(InetSocketAddress listen, InetSocketAddress target) {
    return builder(listen, target).start();
  }

  public static Builder builder(InetSocketAddress listen, InetSocketAddress target) {
    return new Builder(listen, target);
  }

  /** Where the relay listens; the port is the one bound when port 0 was asked for. */
  public InetSocketAddress localAddress() {
    return (InetSocketAddress) server.localAddress();
  }

  public int port() {
    return localAddress().getPort();
  }

  public InetSocketAddress target() {
    return target;
  }

  /** The faults of {@code direction} now. */
  public Faults faults(Direction direction) {
    synchronized (lock) {
      return faults.get(direction);
    }
  }

  /**
   * Changes the faults of {@code directions}, for open connections and new ones. Returns once every
   * open connection has them (called on one of the relay's own threads, it cannot wait).
   */
  public void update(Set<Direction> directions, UnaryOperator<Faults> change) {
    List<Future<?>> applied = new ArrayList<>();
    synchronized (lock) {
      for (Direction d : directions) {
        Faults next = change.apply(faults.get(d));
        faults.put(d, next);
        for (RelayLink link : links) {
          applied.add(link.apply(d, next));
        }
        log.debug("relay {} faults: {}", d.word(), next);
      }
    }
    awaitAll(applied);
  }

  /** Waits for tasks on the relay's loops, unless this thread is one of them. */
  private void awaitAll(List<Future<?>> tasks) {
    if (inLoop()) {
      return;
    }
    for (Future<?> f : tasks) {
      f.awaitUninterruptibly(5, TimeUnit.SECONDS);
    }
  }

  private boolean inLoop() {
    for (EventExecutor e : group) {
      if (e.inEventLoop()) {
        return true;
      }
    }
    return false;
  }

  /** Both directions: each chunk is held this long (a round trip costs twice as much). */
  public void latency(Duration perDirection) {
    update(Direction.BOTH, f -> f.withLatency(perDirection));
  }

  /** Both directions: at most this many bytes per second per connection; 0 for no limit. */
  public void bandwidth(long bytesPerSecond) {
    update(Direction.BOTH, f -> f.withBandwidth(bytesPerSecond));
  }

  /** Both directions: nothing passes while on. */
  public void blackHole(boolean on) {
    update(Direction.BOTH, f -> f.withBlackHole(on));
  }

  /** Both directions: close each connection after this many more bytes; -1 for no limit. */
  public void closeAfter(long bytes) {
    update(Direction.BOTH, f -> f.withCloseAfter(bytes));
  }

  /** While on, new connections are accepted and reset at once. */
  public void refuse(boolean on) {
    refusing = on;
  }

  public boolean refusing() {
    return refusing;
  }

  /** The connections open now. */
  public List<RelayLink> links() {
    return List.copyOf(links);
  }

  /** Resets every open connection (RST both ways) and returns how many, once they are closed. */
  public int resetAll() {
    List<RelayLink> open = links();
    List<Future<?>> done = new ArrayList<>();
    open.forEach(link -> done.add(link.reset()));
    awaitAll(done);
    return open.size();
  }

  public RelayStats stats() {
    return new RelayStats(
        accepted.sum(), refused.sum(), resets.sum(), links.size(), bytesUp.sum(), bytesDown.sum());
  }

  /** Stops listening and closes every connection (FIN). */
  @Override
  public void close() {
    server.close().awaitUninterruptibly();
    links().forEach(RelayLink::close);
    group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly();
  }

  private void accept(SocketChannel ch, Bootstrap outbound) {
    accepted.increment();
    if (refusing) {
      refused.increment();
      RelayLink.abort(ch);
      return;
    }
    RelayLink link;
    synchronized (lock) {
      // Under the lock: the link starts with the faults of now, or is there to hear the change.
      link =
          new RelayLink(this, ch, faults.get(Direction.UPSTREAM), faults.get(Direction.DOWNSTREAM));
      links.add(link);
    }
    ch.pipeline().addLast("relay", link.clientHandler());
    outbound
        .clone(ch.eventLoop())
        .handler(link.targetHandler())
        .connect(target)
        .addListener(
            (ChannelFuture f) -> {
              if (f.isSuccess()) {
                link.connected(f.channel());
              } else {
                link.connectFailed(f.cause());
              }
            });
  }

  void removed(RelayLink link) {
    links.remove(link);
  }

  void countReset() {
    resets.increment();
  }

  void counted(Direction d, int bytes) {
    (d == Direction.UPSTREAM ? bytesUp : bytesDown).add(bytes);
  }

  /** Where to listen and forward, and the relay's own resources. */
  public static final class Builder {
    private final InetSocketAddress listen;
    private final InetSocketAddress target;
    private int threads = 1;
    private int socketBuffers;
    private Duration connectTimeout = Duration.ofSeconds(10);

    private Builder(InetSocketAddress listen, InetSocketAddress target) {
      this.listen = listen;
      this.target = target;
    }

    /** Event-loop threads (default 1). */
    public Builder threads(int n) {
      if (n < 1) {
        throw new IllegalArgumentException("threads must be at least 1: " + n);
      }
      threads = n;
      return this;
    }

    /**
     * SO_RCVBUF and SO_SNDBUF of the relay's sockets, in bytes (the kernel doubles it and keeps a
     * minimum); 0, the default, leaves the kernel's autotuning. Small buffers make a black hole's
     * TCP window close after few bytes.
     */
    public Builder socketBuffers(int bytes) {
      if (bytes < 0) {
        throw new IllegalArgumentException("socket buffers must be 0 (default) or more: " + bytes);
      }
      socketBuffers = bytes;
      return this;
    }

    /** How long the relay tries to reach the target for each accepted connection (default 10 s). */
    public Builder connectTimeout(Duration d) {
      connectTimeout = d;
      return this;
    }

    public FaultRelay start() {
      return new FaultRelay(this);
    }
  }
}
