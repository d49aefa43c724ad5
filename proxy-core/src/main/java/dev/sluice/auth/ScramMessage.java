package dev.sluice.auth;

import dev.sluice.error.SluiceException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * A cursor over one SCRAM message: attributes {@code name=value} separated by commas (RFC 5802
 * section 7). Bytes are read as ISO-8859-1, one char per byte, so any part of a message can be
 * turned back into exactly the bytes that were sent: both sides sign the AuthMessage, and a user
 * name in some other encoding must not change it.
 */
final class ScramMessage {
  private final String text;
  private final String name;
  private int pos;

  private ScramMessage(String text, String name) {
    this.text = text;
    this.name = name;
  }

  /** Wraps a received message; {@code name} (e.g. "client-first-message") goes into errors. */
  static ScramMessage of(byte[] bytes, String name) {
    if (bytes.length == 0) {
      throw malformed(name, "the message is empty");
    }
    for (byte b : bytes) {
      if (b == 0) {
        throw malformed(name, "the message contains a null byte");
      }
    }
    return new ScramMessage(new String(bytes, StandardCharsets.ISO_8859_1), name);
  }

  static SluiceException malformed(String messageName, String detail) {
    return SluiceException.protocolViolation(
        "malformed SCRAM message: " + detail + " in " + messageName);
  }

  SluiceException malformed(String detail) {
    return malformed(name, detail);
  }

  /** The bytes of a message built or read in this one-char-per-byte form. */
  static byte[] bytes(String latin1) {
    return latin1.getBytes(StandardCharsets.ISO_8859_1);
  }

  /** The whole message, one char per byte. */
  String text() {
    return text;
  }

  boolean atEnd() {
    return pos == text.length();
  }

  int position() {
    return pos;
  }

  String substring(int from, int to) {
    return text.substring(from, to);
  }

  String rest() {
    return text.substring(pos);
  }

  /** Consumes {@code prefix} if the message continues with it. */
  boolean skip(String prefix) {
    if (!text.startsWith(prefix, pos)) {
      return false;
    }
    pos += prefix.length();
    return true;
  }

  /** Whether the next attribute is {@code attribute}, without consuming it. */
  boolean startsWith(char attribute) {
    return text.startsWith(attribute + "=", pos);
  }

  /** The name of the next attribute, which must be a letter followed by '='; not consumed. */
  char peekName() {
    if (pos + 1 >= text.length()
        || !isAsciiLetter(text.charAt(pos))
        || text.charAt(pos + 1) != '=') {
      throw malformed("attribute expected at offset " + pos);
    }
    return text.charAt(pos);
  }

  /**
   * Reads attribute {@code attribute} and the comma after it. A comma must be followed by another
   * attribute: a message never ends with one.
   */
  String read(char attribute) {
    if (!startsWith(attribute)) {
      throw malformed("attribute \"" + attribute + "\" expected");
    }
    int start = pos + 2;
    int comma = text.indexOf(',', start);
    int end = comma < 0 ? text.length() : comma;
    pos = comma < 0 ? end : comma + 1;
    if (comma >= 0 && atEnd()) {
      throw malformed("trailing comma");
    }
    return text.substring(start, end);
  }

  /** Reads attribute {@code attribute} as base64. */
  byte[] readBase64(char attribute) {
    String value = read(attribute);
    try {
      return Base64.getDecoder().decode(value);
    } catch (IllegalArgumentException e) {
      throw malformed("attribute \"" + attribute + "\" is not valid base64");
    }
  }

  /** Reads a nonce: one or more printable ASCII characters other than ',' (RFC 5802). */
  String readNonce() {
    String nonce = read('r');
    if (nonce.isEmpty()) {
      throw malformed("empty nonce");
    }
    for (int i = 0; i < nonce.length(); i++) {
      char c = nonce.charAt(i);
      if (c < 0x21 || c > 0x7E) {
        throw malformed("nonce contains a non-printable character");
      }
    }
    return nonce;
  }

  /** Fails unless the whole message has been read. */
  void expectEnd() {
    if (!atEnd()) {
      throw malformed("unexpected data at the end");
    }
  }

  private static boolean isAsciiLetter(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  }
}
