package dev.sluice.engine;

import io.netty.buffer.ByteBuf;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/** Decodes a client's SQL text so that its ASCII syntax reads exactly as the server lexes it. */
public final class ClientText {
  private ClientText() {}

  /** The text of a Query body (NUL-terminated) in the client's encoding. */
  public static String decode(ByteBuf body, String clientEncoding) {
    int len = body.readableBytes() - 1;
    return body.toString(body.readerIndex(), Math.max(0, len), charsetFor(clientEncoding));
  }

  /**
   * Byte-for-byte (ISO-8859-1) keeps every ASCII byte in place for UTF-8 and every other encoding
   * whose multi-byte characters never contain ASCII bytes. In the few client encodings where a
   * second byte can be a backslash or a quote, decode with the real charset so that strings end
   * where the server thinks they do.
   */
  public static Charset charsetFor(String clientEncoding) {
    if (clientEncoding == null) {
      return StandardCharsets.ISO_8859_1;
    }
    String e = clientEncoding.toUpperCase(Locale.ROOT).replace("_", "");
    String java =
        switch (e) {
          case "SJIS", "SHIFTJIS", "MSKANJI", "SHIFTJIS2004" -> "Shift_JIS";
          case "BIG5" -> "Big5";
          case "GBK", "CP936", "WIN936" -> "GBK";
          case "GB18030" -> "GB18030";
          case "UHC", "WIN949", "CP949" -> "x-windows-949";
          case "JOHAB" -> "x-Johab";
          default -> null;
        };
    if (java == null || !Charset.isSupported(java)) {
      return StandardCharsets.ISO_8859_1;
    }
    return Charset.forName(java);
  }
}
