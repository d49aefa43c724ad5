package dev.sluice.server;

import dev.sluice.engine.ClientPort;
import dev.sluice.engine.CloseReason;
import dev.sluice.protocol.backend.ErrorResponse;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import java.util.function.BiConsumer;

/** A client channel as the session engine sees it. */
final class ChannelClientPort implements ClientPort {
  private final Channel channel;
  private final ReadGate readGate;
  private final BiConsumer<CloseReason, ErrorResponse> closer;
  private final ProxyMeters meters;

  ChannelClientPort(
      Channel channel,
      ReadGate readGate,
      BiConsumer<CloseReason, ErrorResponse> closer,
      ProxyMeters meters) {
    this.channel = channel;
    this.readGate = readGate;
    this.closer = closer;
    this.meters = meters;
  }

  @Override
  public void execute(Runnable task) {
    channel.eventLoop().execute(task);
  }

  @Override
  public ByteBufAllocator alloc() {
    return channel.alloc();
  }

  @Override
  public void write(ByteBuf buf) {
    channel.write(buf, channel.voidPromise());
  }

  @Override
  public void flush() {
    channel.flush();
  }

  @Override
  public boolean isWritable() {
    return channel.isWritable();
  }

  @Override
  public void setReading(boolean on) {
    readGate.session(on);
  }

  @Override
  public boolean isReading() {
    return channel.config().isAutoRead();
  }

  @Override
  public void answered(long nanos) {
    meters.queryAnswered(nanos);
  }

  @Override
  public void close(CloseReason reason, ErrorResponse error) {
    closer.accept(reason, error);
  }
}
