package dev.sluice.protocol.frontend;

import dev.sluice.protocol.Codec;
import dev.sluice.protocol.ProtocolViolationException;
import io.netty.buffer.ByteBuf;

/**
 * Describe ('D') or Close ('C'), which share a layout: a target kind ({@code 'S'} statement or
 * {@code 'P'} portal) and a name.
 */
public record Describe(byte kind, String name) {
  public static final byte STATEMENT = 'S';
  public static final byte PORTAL = 'P';

  /** Decodes a Describe or Close body. */
  public static Describe decode(ByteBuf body) {
    Codec.require(body, 2, "Describe/Close");
    byte kind = body.readByte();
    if (kind != STATEMENT && kind != PORTAL) {
      throw new ProtocolViolationException(
          "invalid Describe/Close target type '" + (char) kind + "'");
    }
    String name = Codec.readCStringRaw(body);
    Codec.requireEnd(body, "Describe/Close");
    return new Describe(kind, name);
  }

  /** Encodes as Describe ({@code 'D'}) or Close ({@code 'C'}), which share the layout. */
  public void encode(ByteBuf out, byte messageType) {
    int at = Codec.beginMessage(out, messageType);
    out.writeByte(kind);
    Codec.writeCStringRaw(out, name);
    Codec.endMessage(out, at);
  }

  public boolean isStatement() {
    return kind == STATEMENT;
  }
}
