package dev.sluice.protocol.backend;

import dev.sluice.protocol.BackendType;
import dev.sluice.protocol.Codec;
import io.netty.buffer.ByteBuf;

/** ParameterStatus: the backend reports the current value of a reported setting. */
public record ParameterStatus(String name, String value) {

  public static ParameterStatus decode(ByteBuf body) {
    String name = Codec.readCString(body);
    String value = Codec.readCString(body);
    return new ParameterStatus(name, value);
  }

  public void encode(ByteBuf out) {
    int at = Codec.beginMessage(out, BackendType.PARAMETER_STATUS.code());
    Codec.writeCString(out, name);
    Codec.writeCString(out, value);
    Codec.endMessage(out, at);
  }
}
