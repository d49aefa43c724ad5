package dev.sluice.server;

import dev.sluice.config.HostAndPort;
import dev.sluice.error.SafeErrors;
import dev.sluice.error.SluiceException;
import dev.sluice.error.SqlState;
import dev.sluice.protocol.ProtocolCodes;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.ssl.SslHandler;
import java.util.List;

/**
 * The first step on a backend connection that asks for TLS: SSLRequest, then the server's one-byte
 * answer. 'S' puts an {@link SslHandler} in this handler's place; once its handshake completes the
 * connection goes on (channelActive reaches the login) over TLS. 'N' goes on in plain text where
 * the sslmode allows it. A byte after the answer, before the handshake, is refused: it would be
 * read as if it came over TLS (PostgreSQL's CVE-2021-23222).
 */
final class BackendTlsNegotiator extends ByteToMessageDecoder {
  private final BackendTls tls;
  private final HostAndPort host;
  private boolean answered;

  BackendTlsNegotiator(BackendTls tls, HostAndPort host) {
    this.tls = tls;
    this.host = host;
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    ByteBuf out = ctx.alloc().buffer(8);
    out.writeInt(8).writeInt(ProtocolCodes.SSL_REQUEST_CODE);
    ctx.writeAndFlush(out, ctx.voidPromise());
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    if (answered || !in.isReadable()) {
      return;
    }
    answered = true;
    byte answer = in.readByte();
    if (in.isReadable()) {
      in.skipBytes(in.readableBytes());
      fail(ctx, "the upstream server sent data after its answer to the TLS request");
      return;
    }
    switch (answer) {
      case 'S' -> startTls(ctx);
      case 'N' -> {
        if (!tls.plainAllowed()) {
          fail(
              ctx,
              "the upstream server at "
                  + host
                  + " does not support TLS, but sslmode="
                  + tls.mode().flagValue()
                  + " requires it");
          return;
        }
        ctx.pipeline().remove(this);
        ctx.fireChannelActive();
      }
      default ->
          fail(ctx, "the upstream server answered the TLS request with '" + (char) answer + "'");
    }
  }

  private void startTls(ChannelHandlerContext ctx) {
    SslHandler ssl = tls.newHandler(ctx.alloc(), host.host(), host.port());
    ctx.pipeline().replace(this, "tls", ssl);
    ChannelHandlerContext tlsCtx = ctx.pipeline().context(ssl);
    ssl.handshakeFuture()
        .addListener(
            f -> {
              if (f.isSuccess()) {
                tlsCtx.fireChannelActive();
              } else {
                tlsCtx.fireExceptionCaught(handshakeFailed(f.cause()));
                tlsCtx.close();
              }
            });
  }

  private SluiceException handshakeFailed(Throwable cause) {
    return new TlsHandshakeException(
        "TLS handshake with the upstream server at "
            + host
            + " failed (sslmode="
            + tls.mode().flagValue()
            + "): "
            + rootMessage(cause));
  }

  private void fail(ChannelHandlerContext ctx, String message) {
    ctx.fireExceptionCaught(
        SluiceException.fatal(SqlState.SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION, message));
    ctx.close();
  }

  private static String rootMessage(Throwable t) {
    Throwable c = t;
    for (int i = 0; i < 8 && c.getCause() != null && c.getCause() != c; i++) {
      c = c.getCause();
    }
    String m = c.getMessage();
    return m != null ? m : SafeErrors.describe(t);
  }

  /** A handshake that failed: the connect may be tried again without TLS where sslmode allows. */
  static final class TlsHandshakeException extends SluiceException {
    private static final long serialVersionUID = 1L;

    TlsHandshakeException(String message) {
      super(
          SqlState.SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION,
          dev.sluice.protocol.Severity.FATAL,
          message);
    }
  }
}
