package dev.sluice.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.util.ByteProcessor;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;

/** Primitives shared by the message codecs: C strings and message headers. */
public final class Codec {
  private Codec() {}

  /**
   * Reads a NUL-terminated UTF-8 string. A missing terminator is a protocol violation, never a read
   * past the end of the message (the body views are bounded by the message length).
   */
  public static String readCString(ByteBuf body) {
    return readCString(body, StandardCharsets.UTF_8);
  }

  /**
   * Reads a NUL-terminated string byte for byte (ISO-8859-1): lossless whatever the client's
   * encoding, so names and query text Sluice passes on are the very bytes the client sent.
   */
  public static String readCStringRaw(ByteBuf body) {
    return readCString(body, StandardCharsets.ISO_8859_1);
  }

  private static String readCString(ByteBuf body, Charset charset) {
    int start = body.readerIndex();
    int nul = body.forEachByte(start, body.readableBytes(), ByteProcessor.FIND_NUL);
    if (nul < 0) {
      throw new ProtocolViolationException("invalid message format: unterminated string");
    }
    String s = body.toString(start, nul - start, charset);
    body.readerIndex(nul + 1);
    return s;
  }

  /** Writes a string read with {@link #readCStringRaw} back as the same bytes. */
  public static void writeCStringRaw(ByteBuf out, String s) {
    out.writeCharSequence(s, StandardCharsets.ISO_8859_1);
    out.writeByte(0);
  }

  public static void writeCString(ByteBuf out, String s) {
    out.writeCharSequence(s, StandardCharsets.UTF_8);
    out.writeByte(0);
  }

  /** Writes a type byte and a length placeholder; returns where the length goes. */
  public static int beginMessage(ByteBuf out, byte type) {
    out.writeByte(type);
    int at = out.writerIndex();
    out.writeInt(0);
    return at;
  }

  /** Writes a length placeholder for an untyped (startup-phase) packet. */
  public static int beginUntyped(ByteBuf out) {
    int at = out.writerIndex();
    out.writeInt(0);
    return at;
  }

  /** Patches the length written at {@code at} to cover everything written since. */
  public static void endMessage(ByteBuf out, int at) {
    out.setInt(at, out.writerIndex() - at);
  }

  /** Fails with 08P01 unless {@code body} has at least {@code n} readable bytes. */
  public static void require(ByteBuf body, int n, String what) {
    if (body.readableBytes() < n) {
      throw new ProtocolViolationException("invalid message format: truncated " + what);
    }
  }

  /** Fails with 08P01 when bytes remain after the last field of a message. */
  public static void requireEnd(ByteBuf body, String what) {
    if (body.isReadable()) {
      throw new ProtocolViolationException("invalid message format: trailing bytes in " + what);
    }
  }
}
