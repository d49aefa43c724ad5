package dev.sluice.protocol.frontend;

import dev.sluice.protocol.FrontendType;
import io.netty.buffer.ByteBuf;

/** Sync: ends an extended-protocol batch; the server answers with ReadyForQuery. */
public final class Sync {
  private Sync() {}

  public static void encode(ByteBuf out) {
    out.writeByte(FrontendType.SYNC.code());
    out.writeInt(4);
  }
}
