package dev.sluice.protocol.frontend;

import dev.sluice.protocol.Codec;
import dev.sluice.protocol.ProtocolCodes;
import io.netty.buffer.ByteBuf;

/** CancelRequest: sent on a fresh connection with the key of the session to interrupt. */
public record CancelRequest(int processId, int secretKey) {

  /** Decodes the body after the length word, request code included. */
  public static CancelRequest decode(ByteBuf body) {
    Codec.require(body, 12, "cancel request");
    body.skipBytes(4);
    CancelRequest r = new CancelRequest(body.readInt(), body.readInt());
    Codec.requireEnd(body, "cancel request");
    return r;
  }

  public void encode(ByteBuf out) {
    out.writeInt(16);
    out.writeInt(ProtocolCodes.CANCEL_REQUEST_CODE);
    out.writeInt(processId);
    out.writeInt(secretKey);
  }

  @Override
  public String toString() {
    return "CancelRequest[pid=" + processId + "]";
  }
}
