package dev.sluice.protocol.frontend;

import dev.sluice.protocol.Codec;
import dev.sluice.protocol.FrontendType;
import dev.sluice.protocol.ProtocolViolationException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;

/**
 * The names in a Bind message: destination portal and source statement. Parameter values are never
 * decoded (they are relayed untouched and never logged).
 */
public record Bind(String portal, String statement) {

  /**
   * A Bind identical to {@code body}'s but naming statement {@code newStatement}: a new header and
   * names, followed by the original formats, parameters and result formats as a retained slice (no
   * copy of parameter data).
   */
  public static ByteBuf renameStatement(ByteBufAllocator alloc, ByteBuf body, String newStatement) {
    ByteBuf b = body.duplicate();
    String portal = Codec.readCStringRaw(b);
    Codec.readCStringRaw(b);
    ByteBuf head = alloc.buffer(5 + portal.length() + newStatement.length() + 8);
    head.writeByte(FrontendType.BIND.code());
    head.writeInt(0);
    Codec.writeCStringRaw(head, portal);
    Codec.writeCStringRaw(head, newStatement);
    head.setInt(1, head.readableBytes() - 1 + b.readableBytes());
    CompositeByteBuf out = alloc.compositeBuffer(2);
    out.addComponent(true, head);
    out.addComponent(true, b.retainedSlice());
    return out;
  }

  /**
   * How many result-column format codes the Bind carries (0: all text, 1: one for all, n: one per
   * column, which ties the Bind to the statement's current result shape); -1 if malformed.
   */
  public static int resultFormatCount(ByteBuf body) {
    ByteBuf b = body.duplicate();
    try {
      Codec.readCStringRaw(b);
      Codec.readCStringRaw(b);
      b.skipBytes(2 * b.readUnsignedShort());
      int params = b.readUnsignedShort();
      for (int i = 0; i < params; i++) {
        int len = b.readInt();
        if (len > 0) {
          b.skipBytes(len);
        }
      }
      return b.readUnsignedShort();
    } catch (IndexOutOfBoundsException | ProtocolViolationException e) {
      return -1;
    }
  }

  public static Bind decode(ByteBuf body) {
    String portal = Codec.readCStringRaw(body);
    String statement = Codec.readCStringRaw(body);
    return new Bind(portal, statement);
  }
}
