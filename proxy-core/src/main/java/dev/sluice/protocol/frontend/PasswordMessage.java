package dev.sluice.protocol.frontend;

import dev.sluice.protocol.Codec;
import dev.sluice.protocol.FrontendType;
import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;

/**
 * The 'p' messages of authentication. Their layout depends on what the server asked for, so they
 * are decoded by the authentication exchange that expects them.
 */
public final class PasswordMessage {
  private PasswordMessage() {}

  /** PasswordMessage with a cleartext or MD5-hashed password. */
  public static void encodePassword(ByteBuf out, String password) {
    int at = Codec.beginMessage(out, FrontendType.PASSWORD.code());
    Codec.writeCString(out, password);
    Codec.endMessage(out, at);
  }

  /** SASLInitialResponse: mechanism name and the client-first-message. */
  public static void encodeSaslInitial(ByteBuf out, String mechanism, byte[] data) {
    int at = Codec.beginMessage(out, FrontendType.PASSWORD.code());
    Codec.writeCString(out, mechanism);
    out.writeInt(data.length);
    out.writeBytes(data);
    Codec.endMessage(out, at);
  }

  /** SASLResponse: the next SASL message, raw. */
  public static void encodeSaslResponse(ByteBuf out, byte[] data) {
    int at = Codec.beginMessage(out, FrontendType.PASSWORD.code());
    out.writeBytes(data);
    Codec.endMessage(out, at);
  }

  /** Reads a PasswordMessage body as the password string. */
  public static String decodePassword(ByteBuf body) {
    String p = Codec.readCString(body);
    Codec.requireEnd(body, "PasswordMessage");
    return p;
  }

  /** A SASLInitialResponse as sent by a client. */
  public record SaslInitial(String mechanism, byte[] data) {}

  public static SaslInitial decodeSaslInitial(ByteBuf body) {
    String mechanism = Codec.readCString(body);
    Codec.require(body, 4, "SASLInitialResponse");
    int n = body.readInt();
    byte[] data;
    if (n < 0) {
      data = new byte[0];
    } else {
      Codec.require(body, n, "SASLInitialResponse data");
      data = new byte[n];
      body.readBytes(data);
    }
    Codec.requireEnd(body, "SASLInitialResponse");
    return new SaslInitial(mechanism, data);
  }

  public static byte[] decodeSaslResponse(ByteBuf body) {
    byte[] data = new byte[body.readableBytes()];
    body.readBytes(data);
    return data;
  }

  /** Convenience for tests and logs: the bytes as UTF-8. */
  public static String utf8(byte[] data) {
    return new String(data, StandardCharsets.UTF_8);
  }
}
