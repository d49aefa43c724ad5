package dev.sluice.protocol.frontend;

import dev.sluice.protocol.Codec;
import dev.sluice.protocol.FrontendType;
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

  public static Bind decode(ByteBuf body) {
    String portal = Codec.readCStringRaw(body);
    String statement = Codec.readCStringRaw(body);
    return new Bind(portal, statement);
  }
}
