package dev.sluice.protocol.backend;

import dev.sluice.protocol.BackendType;
import dev.sluice.protocol.Codec;
import io.netty.buffer.ByteBuf;

/** BackendKeyData: the (process id, secret key) a client needs to cancel its queries. */
public record BackendKeyData(int processId, int secretKey) {

  public static BackendKeyData decode(ByteBuf body) {
    Codec.require(body, 8, "BackendKeyData");
    return new BackendKeyData(body.readInt(), body.readInt());
  }

  public void encode(ByteBuf out) {
    out.writeByte(BackendType.BACKEND_KEY_DATA.code());
    out.writeInt(12);
    out.writeInt(processId);
    out.writeInt(secretKey);
  }

  @Override
  public String toString() {
    return "BackendKeyData[pid=" + processId + "]";
  }
}
