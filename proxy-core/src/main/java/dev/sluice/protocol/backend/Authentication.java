package dev.sluice.protocol.backend;

import dev.sluice.protocol.BackendType;
import dev.sluice.protocol.Codec;
import dev.sluice.protocol.ProtocolViolationException;
import io.netty.buffer.ByteBuf;
import java.util.ArrayList;
import java.util.List;

/** The Authentication* family ('R'): one message type, told apart by a 32-bit subtype. */
public sealed interface Authentication {
  int OK = 0;
  int CLEARTEXT_PASSWORD = 3;
  int MD5_PASSWORD = 5;
  int SASL = 10;
  int SASL_CONTINUE = 11;
  int SASL_FINAL = 12;

  /** AuthenticationOk. */
  record Ok() implements Authentication {}

  /** AuthenticationCleartextPassword. */
  record CleartextPassword() implements Authentication {}

  /** AuthenticationMD5Password with its 4-byte salt. */
  record Md5Password(byte[] salt) implements Authentication {}

  /** AuthenticationSASL with the mechanisms the server offers. */
  record Sasl(List<String> mechanisms) implements Authentication {}

  /** AuthenticationSASLContinue: a server-first-message. */
  record SaslContinue(byte[] data) implements Authentication {}

  /** AuthenticationSASLFinal: the server-final-message. */
  record SaslFinal(byte[] data) implements Authentication {}

  /** Any other method (Kerberos, GSS, SSPI): Sluice cannot answer it. */
  record Unsupported(int subtype) implements Authentication {}

  static Authentication decode(ByteBuf body) {
    Codec.require(body, 4, "Authentication");
    int subtype = body.readInt();
    // The fixed-size requests have nothing after their fields: a trailing byte is a framing error,
    // not an AuthenticationOk to take at its word.
    return switch (subtype) {
      case OK -> {
        Codec.requireEnd(body, "AuthenticationOk");
        yield new Ok();
      }
      case CLEARTEXT_PASSWORD -> {
        Codec.requireEnd(body, "AuthenticationCleartextPassword");
        yield new CleartextPassword();
      }
      case MD5_PASSWORD -> {
        Codec.require(body, 4, "AuthenticationMD5Password");
        byte[] salt = new byte[4];
        body.readBytes(salt);
        Codec.requireEnd(body, "AuthenticationMD5Password");
        yield new Md5Password(salt);
      }
      case SASL -> {
        List<String> mechanisms = new ArrayList<>();
        while (true) {
          String m = Codec.readCString(body);
          if (m.isEmpty()) {
            break;
          }
          mechanisms.add(m);
        }
        Codec.requireEnd(body, "AuthenticationSASL");
        yield new Sasl(mechanisms);
      }
      case SASL_CONTINUE -> new SaslContinue(rest(body));
      case SASL_FINAL -> new SaslFinal(rest(body));
      default -> {
        if (subtype < 0) {
          throw new ProtocolViolationException("invalid authentication request " + subtype);
        }
        yield new Unsupported(subtype);
      }
    };
  }

  private static byte[] rest(ByteBuf body) {
    byte[] b = new byte[body.readableBytes()];
    body.readBytes(b);
    return b;
  }

  static void encodeOk(ByteBuf out) {
    encodeSubtype(out, OK, null);
  }

  static void encodeCleartextPassword(ByteBuf out) {
    encodeSubtype(out, CLEARTEXT_PASSWORD, null);
  }

  static void encodeMd5Password(ByteBuf out, byte[] salt) {
    encodeSubtype(out, MD5_PASSWORD, salt);
  }

  static void encodeSasl(ByteBuf out, List<String> mechanisms) {
    int at = Codec.beginMessage(out, BackendType.AUTHENTICATION.code());
    out.writeInt(SASL);
    for (String m : mechanisms) {
      Codec.writeCString(out, m);
    }
    out.writeByte(0);
    Codec.endMessage(out, at);
  }

  static void encodeSaslContinue(ByteBuf out, byte[] data) {
    encodeSubtype(out, SASL_CONTINUE, data);
  }

  static void encodeSaslFinal(ByteBuf out, byte[] data) {
    encodeSubtype(out, SASL_FINAL, data);
  }

  private static void encodeSubtype(ByteBuf out, int subtype, byte[] data) {
    int at = Codec.beginMessage(out, BackendType.AUTHENTICATION.code());
    out.writeInt(subtype);
    if (data != null) {
      out.writeBytes(data);
    }
    Codec.endMessage(out, at);
  }
}
