package dev.sluice.server;

import dev.sluice.protocol.backend.ErrorResponse;
import io.netty.buffer.ByteBuf;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.ArrayList;
import java.util.List;

/** What a fuzz harness's channel wrote, read back as typed messages and checked for form. */
final class FuzzWire {
  private FuzzWire() {}

  /** One message Sluice wrote: its type byte and, for an ErrorResponse, its SQLSTATE. */
  record Sent(char type, String sqlState) {}

  /**
   * Takes every outbound buffer, checks each holds whole messages of at most {@code maxLength}
   * bytes (or is a lone one-byte answer to an encryption request when {@code untypedAllowed}), and
   * releases it.
   */
  static List<Sent> drain(EmbeddedChannel ch, int maxLength, boolean untypedAllowed) {
    List<Sent> out = new ArrayList<>();
    ByteBuf b;
    while ((b = ch.readOutbound()) != null) {
      try {
        if (b.readableBytes() == 1 && untypedAllowed) {
          char c = (char) b.getByte(b.readerIndex());
          check(c == 'N' || c == 'S', "a one-byte answer is N or S, not " + c);
          out.add(new Sent(c, null));
          continue;
        }
        readMessages(b, maxLength, out);
      } finally {
        b.release();
      }
    }
    return out;
  }

  /** Checks an outbound startup packet (the backend side's first write) and releases it. */
  static void skipStartupPacket(EmbeddedChannel ch) {
    ByteBuf b = ch.readOutbound();
    check(b != null, "a startup packet was sent");
    try {
      check(b.getInt(b.readerIndex()) == b.readableBytes(), "startup packet length");
    } finally {
      b.release();
    }
  }

  private static void readMessages(ByteBuf b, int maxLength, List<Sent> out) {
    while (b.isReadable()) {
      check(b.readableBytes() >= 5, "a whole header");
      char type = (char) b.readByte();
      int len = b.readInt();
      check(len >= 4 && len <= maxLength && b.readableBytes() >= len - 4, "length " + len);
      ByteBuf body = b.readSlice(len - 4);
      String state = null;
      if (type == 'E') {
        state = ErrorResponse.decode(body).sqlState();
        check(!state.equals("XX000"), "an internal error was sent to the peer");
      }
      out.add(new Sent(type, state));
    }
  }

  static void check(boolean ok, String what) {
    if (!ok) {
      throw new AssertionError("invariant broken: " + what);
    }
  }
}
