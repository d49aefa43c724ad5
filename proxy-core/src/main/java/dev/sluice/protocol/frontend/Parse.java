package dev.sluice.protocol.frontend;

import dev.sluice.protocol.Codec;
import dev.sluice.protocol.FrontendType;
import io.netty.buffer.ByteBuf;
import java.util.Arrays;

/**
 * Parse: prepare {@code query} as statement {@code name} (empty for the unnamed statement). Name
 * and query are held byte for byte (ISO-8859-1), whatever the client's encoding, so a Parse Sluice
 * re-encodes carries exactly the client's bytes.
 */
public record Parse(String name, String query, int[] parameterTypes) {

  public static Parse decode(ByteBuf body) {
    String name = Codec.readCStringRaw(body);
    String query = Codec.readCStringRaw(body);
    Codec.require(body, 2, "Parse");
    int n = body.readUnsignedShort();
    Codec.require(body, 4 * n, "Parse parameter types");
    int[] types = new int[n];
    for (int i = 0; i < n; i++) {
      types[i] = body.readInt();
    }
    Codec.requireEnd(body, "Parse");
    return new Parse(name, query, types);
  }

  public void encode(ByteBuf out) {
    int at = Codec.beginMessage(out, FrontendType.PARSE.code());
    Codec.writeCStringRaw(out, name);
    Codec.writeCStringRaw(out, query);
    out.writeShort(parameterTypes.length);
    for (int t : parameterTypes) {
      out.writeInt(t);
    }
    Codec.endMessage(out, at);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Parse p
        && p.name.equals(name)
        && p.query.equals(query)
        && Arrays.equals(p.parameterTypes, parameterTypes);
  }

  @Override
  public int hashCode() {
    return (name.hashCode() * 31 + query.hashCode()) * 31 + Arrays.hashCode(parameterTypes);
  }

  @Override
  public String toString() {
    return "Parse[name="
        + name
        + ", "
        + query.length()
        + " chars, "
        + parameterTypes.length
        + " params]";
  }
}
