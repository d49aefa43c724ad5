package dev.sluice.server;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;

/**
 * First in a client's pipeline when clients can have TLS: looks at the connection's first byte and
 * then leaves. A TLS handshake record (0x16) is PostgreSQL 17's direct TLS ({@code
 * sslnegotiation=direct}): no SSLRequest, the handshake starts at once, and the detector puts the
 * TLS handler in its own place, so those bytes and everything after them go through TLS. Any other
 * first byte is the length of a startup packet (whose first byte is 0, as it is at most 10,000
 * bytes long) and goes on to the frame decoder untouched.
 *
 * <p>A direct TLS client must have negotiated ALPN {@code postgresql}: without ALPN it is refused
 * after the handshake, as PostgreSQL 17 refuses it (so that a client of another protocol, an HTTPS
 * client say, cannot be confused into talking to a database). {@link ClientStartup} checks that,
 * told by {@link #DIRECT_TLS}.
 */
final class DirectTlsDetector extends ByteToMessageDecoder {
  /** The content type of a TLS handshake record, the first byte a TLS client sends. */
  static final byte TLS_HANDSHAKE = 0x16;

  /** The user event fired down the pipeline when a connection starts with direct TLS. */
  static final Object DIRECT_TLS =
      new Object() {
        @Override
        public String toString() {
          return "DIRECT_TLS";
        }
      };

  private final ClientTls tls;

  DirectTlsDetector(ClientTls tls) {
    this.tls = tls;
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    if (!in.isReadable()) {
      return;
    }
    if (in.getByte(in.readerIndex()) == TLS_HANDSHAKE) {
      // The event first, so the connection knows before any decrypted byte reaches it; then the
      // TLS handler takes this place, and removal hands it the bytes read so far.
      ctx.fireUserEventTriggered(DIRECT_TLS);
      ctx.pipeline().replace(this, "tls", tls.newHandler(ctx.alloc()));
    } else {
      ctx.pipeline().remove(this);
    }
  }
}
