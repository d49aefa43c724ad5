package dev.sluice.protocol.frontend;

import dev.sluice.protocol.Codec;
import dev.sluice.protocol.ProtocolCodes;
import dev.sluice.protocol.ProtocolViolationException;
import io.netty.buffer.ByteBuf;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * StartupMessage: protocol version and {@code name=value} parameters, the first packet of a
 * session. Parameters keep the order the client sent them.
 */
public record StartupMessage(int protocolVersion, Map<String, String> parameters) {

  public StartupMessage {
    parameters = Collections.unmodifiableMap(new LinkedHashMap<>(parameters));
  }

  /** Decodes the body after the length word: version, then pairs, then a final NUL. */
  public static StartupMessage decode(ByteBuf body) {
    Codec.require(body, 4, "startup packet");
    int version = body.readInt();
    Map<String, String> params = new LinkedHashMap<>();
    while (true) {
      if (!body.isReadable()) {
        throw new ProtocolViolationException(
            "invalid startup packet layout: expected terminator as last byte");
      }
      String name = Codec.readCString(body);
      if (name.isEmpty()) {
        break;
      }
      String value = Codec.readCString(body);
      if (params.put(name, value) != null) {
        throw new ProtocolViolationException(
            "invalid startup packet: parameter \"" + name + "\" given twice");
      }
    }
    Codec.requireEnd(body, "startup packet");
    return new StartupMessage(version, params);
  }

  public void encode(ByteBuf out) {
    int at = Codec.beginUntyped(out);
    out.writeInt(protocolVersion);
    parameters.forEach(
        (k, v) -> {
          Codec.writeCString(out, k);
          Codec.writeCString(out, v);
        });
    out.writeByte(0);
    Codec.endMessage(out, at);
  }

  public int majorVersion() {
    return ProtocolCodes.major(protocolVersion);
  }

  public int minorVersion() {
    return ProtocolCodes.minor(protocolVersion);
  }

  /** Parameters, no values: safe to log. */
  @Override
  public String toString() {
    return "StartupMessage["
        + majorVersion()
        + "."
        + minorVersion()
        + " "
        + parameters.keySet()
        + "]";
  }
}
