package dev.sluice.server;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import java.util.concurrent.atomic.LongAdder;

/**
 * Counts the bytes that pass one side's channels, in both directions: one instance is shared by
 * every client channel, another by every backend channel. It sits just before the frame decoder,
 * behind TLS, so it counts PostgreSQL protocol bytes whether or not the socket is encrypted. Bytes
 * sent are counted when written, before the socket takes them.
 */
@ChannelHandler.Sharable
final class ByteCounter extends ChannelDuplexHandler {
  final LongAdder received = new LongAdder();
  final LongAdder sent = new LongAdder();

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof ByteBuf b) {
      received.add(b.readableBytes());
    }
    ctx.fireChannelRead(msg);
  }

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
    if (msg instanceof ByteBuf b) {
      sent.add(b.readableBytes());
    }
    ctx.write(msg, promise);
  }
}
