package dev.sluice.protocol.backend;

import dev.sluice.protocol.BackendType;
import dev.sluice.protocol.Codec;
import io.netty.buffer.ByteBuf;
import java.util.List;

/**
 * NegotiateProtocolVersion: the newest minor version the server speaks and the protocol options
 * ({@code _pq_.*} startup parameters) it does not recognise.
 */
public record NegotiateProtocolVersion(int newestMinorVersion, List<String> unrecognizedOptions) {

  public NegotiateProtocolVersion {
    unrecognizedOptions = List.copyOf(unrecognizedOptions);
  }

  public void encode(ByteBuf out) {
    int at = Codec.beginMessage(out, BackendType.NEGOTIATE_PROTOCOL_VERSION.code());
    out.writeInt(newestMinorVersion);
    out.writeInt(unrecognizedOptions.size());
    for (String o : unrecognizedOptions) {
      Codec.writeCString(out, o);
    }
    Codec.endMessage(out, at);
  }
}
