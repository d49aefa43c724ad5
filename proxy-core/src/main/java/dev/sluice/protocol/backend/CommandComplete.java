package dev.sluice.protocol.backend;

import dev.sluice.protocol.BackendType;
import dev.sluice.protocol.Codec;
import io.netty.buffer.ByteBuf;

/** CommandComplete: the command tag of a finished statement, such as {@code SELECT 3}. */
public record CommandComplete(String tag) {

  public static CommandComplete decode(ByteBuf body) {
    return new CommandComplete(Codec.readCString(body));
  }

  public void encode(ByteBuf out) {
    int at = Codec.beginMessage(out, BackendType.COMMAND_COMPLETE.code());
    Codec.writeCString(out, tag);
    Codec.endMessage(out, at);
  }
}
