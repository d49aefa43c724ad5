package dev.sluice.protocol.frontend;

import dev.sluice.protocol.FrontendType;
import io.netty.buffer.ByteBuf;

/** Terminate: the client is leaving. */
public final class Terminate {
  private Terminate() {}

  public static void encode(ByteBuf out) {
    out.writeByte(FrontendType.TERMINATE.code());
    out.writeInt(4);
  }
}
