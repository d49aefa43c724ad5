package dev.sluice.protocol.frontend;

import dev.sluice.protocol.Codec;
import io.netty.buffer.ByteBuf;

/**
 * The names in a Bind message: destination portal and source statement. Parameter values are never
 * decoded (they are relayed untouched and never logged).
 */
public record Bind(String portal, String statement) {

  public static Bind decode(ByteBuf body) {
    String portal = Codec.readCString(body);
    String statement = Codec.readCString(body);
    return new Bind(portal, statement);
  }
}
