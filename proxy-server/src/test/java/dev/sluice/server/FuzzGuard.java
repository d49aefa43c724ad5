package dev.sluice.server;

import dev.sluice.error.ServerErrorException;
import dev.sluice.error.SluiceException;
import dev.sluice.protocol.ProtocolViolationException;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandler;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderException;
import java.util.ArrayList;
import java.util.List;

/**
 * Stands in a pipeline for a connection handler and passes it every event, noting each exception
 * that is not one of the protocol's documented outcomes (a {@link SluiceException}, a server's
 * {@link ServerErrorException}, a {@link ProtocolViolationException}). The handlers under test
 * catch everything themselves (an unexpected exception becomes XX000 and a close), so without this
 * a fuzzer would never see a crash.
 */
final class FuzzGuard extends ChannelInboundHandlerAdapter {
  private final ChannelInboundHandler inner;
  private final List<Throwable> unexpected = new ArrayList<>();

  FuzzGuard(ChannelInboundHandler inner) {
    this.inner = inner;
  }

  /** Exceptions the handler should never have met. */
  List<Throwable> unexpected() {
    return unexpected;
  }

  /** Throws the first unexpected exception, if there was one. */
  void assertNoneUnexpected() {
    if (!unexpected.isEmpty()) {
      throw new AssertionError("unexpected exception in the handler", unexpected.get(0));
    }
  }

  static boolean documented(Throwable t) {
    Throwable c = t instanceof DecoderException && t.getCause() != null ? t.getCause() : t;
    return c instanceof SluiceException
        || c instanceof ServerErrorException
        || c instanceof ProtocolViolationException;
  }

  private interface Step {
    void run() throws Exception;
  }

  private void guard(Step step) throws Exception {
    try {
      step.run();
    } catch (Exception | Error e) {
      unexpected.add(e);
      throw e;
    }
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) throws Exception {
    guard(() -> inner.handlerAdded(ctx));
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) throws Exception {
    guard(() -> inner.channelActive(ctx));
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
    guard(() -> inner.channelRead(ctx, msg));
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) throws Exception {
    guard(() -> inner.channelReadComplete(ctx));
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
    guard(() -> inner.userEventTriggered(ctx, evt));
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) throws Exception {
    guard(() -> inner.channelWritabilityChanged(ctx));
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    guard(() -> inner.channelInactive(ctx));
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) throws Exception {
    if (!documented(cause)) {
      unexpected.add(cause);
    }
    guard(() -> inner.exceptionCaught(ctx, cause));
  }
}
