package dev.sluice.relay;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.util.concurrent.Future;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One relayed connection: the socket a client opened to the relay, the relay's socket to the
 * target, and a {@link Pipe} each way. Both sockets live on one event loop.
 *
 * <p>A side that closes ends its pipe's stream after the bytes already queued, so a FIN is as
 * delayed (or as lost, in a black hole) as the data before it; once it is passed on, both sockets
 * close. A side that is reset resets the other at once.
 */
public final class RelayLink {
  private static final Logger log = LoggerFactory.getLogger(RelayLink.class);
  private static final AtomicLong IDS = new AtomicLong();

  private final String id = "r" + IDS.incrementAndGet();
  private final FaultRelay relay;
  private final Channel client;
  private final Pipe up;
  private final Pipe down;
  private volatile Channel target;

  RelayLink(FaultRelay relay, Channel client, Faults upstream, Faults downstream) {
    this.relay = relay;
    this.client = client;
    this.up = new Pipe(this, Direction.UPSTREAM, upstream);
    this.down = new Pipe(this, Direction.DOWNSTREAM, downstream);
    client.closeFuture().addListener(f -> sideClosed(down));
  }

  /** A short id for logs, such as {@code r12}. */
  public String id() {
    return id;
  }

  /** The client's address as the relay sees it (the client socket's local address). */
  public InetSocketAddress clientAddress() {
    return (InetSocketAddress) client.remoteAddress();
  }

  /**
   * The local address of the relay's socket to the target, as the target sees its peer; null until
   * connected.
   */
  public InetSocketAddress targetSideAddress() {
    Channel t = target;
    return t == null ? null : (InetSocketAddress) t.localAddress();
  }

  /** Bytes passed on in {@code direction} on this connection. */
  public long bytesForwarded(Direction direction) {
    return pipe(direction).forwarded();
  }

  /** Whether either socket is still open. */
  public boolean isOpen() {
    Channel t = target;
    return client.isOpen() || (t != null && t.isOpen());
  }

  /**
   * Changes the faults of this connection alone, as a network path that fails for some connections
   * (a NAT that forgot them) and not for others; the relay's next change of a direction's faults
   * applies to every connection again. Returns once in effect (unless called on the relay's loop).
   */
  public void update(Set<Direction> directions, UnaryOperator<Faults> change) {
    Future<?> done =
        client
            .eventLoop()
            .submit(
                () -> {
                  for (Direction d : directions) {
                    pipe(d).apply(change.apply(pipe(d).faults()));
                  }
                });
    if (!client.eventLoop().inEventLoop()) {
      done.awaitUninterruptibly(5, TimeUnit.SECONDS);
    }
  }

  /** The faults of {@code direction} on this connection now. */
  public Faults faults(Direction direction) {
    return pipe(direction).faults();
  }

  /**
   * Closes both sockets with a RST (SO_LINGER 0), dropping whatever is queued; the future completes
   * once they are closed.
   */
  public Future<?> reset() {
    return client.eventLoop().submit(() -> resetNow(true));
  }

  /** Closes both sockets once what was already written has been flushed (FIN). */
  public void close() {
    client.eventLoop().execute(this::closeNow);
  }

  @Override
  public String toString() {
    return id;
  }

  FaultRelay relay() {
    return relay;
  }

  ChannelInboundHandlerAdapter clientHandler() {
    return new End(up, down);
  }

  ChannelInboundHandlerAdapter targetHandler() {
    return new End(down, up);
  }

  /** The relay's connection to the target is up: start passing bytes both ways. */
  void connected(Channel t) {
    target = t;
    t.closeFuture().addListener(f -> sideClosed(up));
    if (!client.isActive()) {
      closeNow();
      return;
    }
    up.wire(client, t);
    down.wire(t, client);
    log.debug("{}: {} relayed to {}", id, client.remoteAddress(), t.remoteAddress());
  }

  /** New faults for {@code direction}; runs on the connection's loop. */
  Future<?> apply(Direction direction, Faults faults) {
    return client.eventLoop().submit(() -> pipe(direction).apply(faults));
  }

  /** The relay could not reach the target: the client is reset, as a refused connect would be. */
  void connectFailed(Throwable cause) {
    log.debug("{}: cannot reach the target: {}", id, cause.toString());
    abort(client);
    relay.removed(this);
  }

  /** {@code requested}: by the user of the relay, so counted; otherwise passed on from a peer. */
  void resetNow(boolean requested) {
    if (!isOpen()) {
      return;
    }
    if (requested) {
      relay.countReset();
    }
    abort(client);
    Channel t = target;
    if (t != null) {
      abort(t);
    }
  }

  void closeNow() {
    closeAfterFlush(client);
    Channel t = target;
    if (t != null) {
      closeAfterFlush(t);
    }
  }

  /** Closes {@code ch} with a RST: SO_LINGER 0 makes the kernel abort instead of sending a FIN. */
  static void abort(Channel ch) {
    if (ch.isOpen()) {
      ch.config().setOption(ChannelOption.SO_LINGER, 0);
      ch.close();
    }
  }

  private static void closeAfterFlush(Channel ch) {
    if (ch.isOpen()) {
      ch.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
    }
  }

  private Pipe pipe(Direction direction) {
    return direction == Direction.UPSTREAM ? up : down;
  }

  /** The pipe writing to a socket that closed has nowhere to go; the link ends with both. */
  private void sideClosed(Pipe writingToIt) {
    writingToIt.discard();
    Channel t = target;
    if (!client.isOpen() && (t == null || !t.isOpen())) {
      up.discard();
      down.discard();
      relay.removed(this);
      log.debug("{}: closed", id);
    }
  }

  /** The handler on one socket: what it reads goes out through {@code out}. */
  private final class End extends ChannelInboundHandlerAdapter {
    private final Pipe out;
    private final Pipe in;

    End(Pipe out, Pipe in) {
      this.out = out;
      this.in = in;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      out.read((ByteBuf) msg);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
      out.readComplete();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
      in.writabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      if (target == null) {
        closeNow();
      } else {
        out.sourceClosed();
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      log.debug("{}: {} on {}", id, cause.toString(), ctx.channel());
      if (cause instanceof IOException) {
        resetNow(false); // a reset (or any socket error) on one side reaches the other at once
      } else {
        closeNow();
      }
    }
  }
}
