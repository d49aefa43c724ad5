package dev.sluice.server;

import dev.sluice.error.SafeErrors;
import dev.sluice.logging.ConnLog;
import dev.sluice.protocol.backend.BackendKeyData;
import dev.sluice.protocol.frontend.CancelRequest;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Carries a client's cancel to the backend serving it, with that backend's real key, over a new
 * connection to the same server address (the protocol's way: the server closes it when done). While
 * the request is in flight the backend is marked so the pool does not hand it to another client,
 * whose query the late cancel could otherwise interrupt.
 */
final class CancelForwarder {
  private static final Logger log = LoggerFactory.getLogger(CancelForwarder.class);
  private static final long CANCEL_TIMEOUT_SECONDS = 10;

  private final Transport transport;

  CancelForwarder(Transport transport) {
    this.transport = transport;
  }

  void forward(ServerConnection server) {
    BackendKeyData key = server.key();
    if (key == null || !server.isOpen()) {
      return;
    }
    server.cancelStarted();
    Channel backend = server.channel();
    ChannelFuture cf =
        new Bootstrap()
            .group(backend.eventLoop())
            .channel(transport.socketChannel())
            .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 5000)
            .handler(new ChannelInboundHandlerAdapter())
            .connect(backend.remoteAddress());
    Channel ch = cf.channel();
    ch.closeFuture().addListener(f -> server.cancelFinished());
    cf.addListener(
        f -> {
          if (!f.isSuccess()) {
            ConnLog.info(
                log,
                server.logContext(),
                "cancel request not delivered: {}",
                SafeErrors.describe(f.cause()));
            return;
          }
          ByteBuf out = ch.alloc().buffer(16);
          new CancelRequest(key.processId(), key.secretKey()).encode(out);
          ch.writeAndFlush(out, ch.voidPromise());
          ConnLog.debug(log, server.logContext(), "cancel request forwarded");
        });
    ch.eventLoop().schedule(() -> ch.close(), CANCEL_TIMEOUT_SECONDS, TimeUnit.SECONDS);
  }
}
