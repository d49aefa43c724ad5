package dev.sluice.protocol.backend;

import dev.sluice.protocol.BackendType;
import dev.sluice.protocol.Codec;
import dev.sluice.protocol.Severity;
import io.netty.buffer.ByteBuf;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * ErrorResponse and NoticeResponse share this layout: a list of (field code, value) pairs. Field
 * codes as in the protocol's "Error and Notice Message Fields": S severity, V non-localized
 * severity, C SQLSTATE, M message, D detail, H hint, R routine, and more.
 */
public record ErrorResponse(Map<Character, String> fields) {
  public static final char SEVERITY = 'S';
  public static final char SEVERITY_V = 'V';
  public static final char CODE = 'C';
  public static final char MESSAGE = 'M';
  public static final char DETAIL = 'D';
  public static final char HINT = 'H';
  public static final char ROUTINE = 'R';

  public ErrorResponse {
    fields = Collections.unmodifiableMap(new LinkedHashMap<>(fields));
  }

  /** An error raised by Sluice; the routine field marks it as the proxy's, not the server's. */
  public static ErrorResponse of(
      Severity severity, String code, String message, String detail, String hint) {
    Map<Character, String> f = new LinkedHashMap<>();
    f.put(SEVERITY, severity.name());
    f.put(SEVERITY_V, severity.name());
    f.put(CODE, code);
    f.put(MESSAGE, message);
    if (detail != null) {
      f.put(DETAIL, detail);
    }
    if (hint != null) {
      f.put(HINT, hint);
    }
    f.put(ROUTINE, "sluice");
    return new ErrorResponse(f);
  }

  public static ErrorResponse decode(ByteBuf body) {
    Map<Character, String> f = new LinkedHashMap<>();
    while (true) {
      Codec.require(body, 1, "ErrorResponse");
      byte code = body.readByte();
      if (code == 0) {
        break;
      }
      f.put((char) code, Codec.readCString(body));
    }
    return new ErrorResponse(f);
  }

  public void encode(ByteBuf out) {
    encode(out, BackendType.ERROR_RESPONSE.code());
  }

  public void encodeAsNotice(ByteBuf out) {
    encode(out, BackendType.NOTICE_RESPONSE.code());
  }

  private void encode(ByteBuf out, byte type) {
    int at = Codec.beginMessage(out, type);
    fields.forEach(
        (k, v) -> {
          out.writeByte(k);
          Codec.writeCString(out, v);
        });
    out.writeByte(0);
    Codec.endMessage(out, at);
  }

  public String sqlState() {
    return fields.getOrDefault(CODE, "");
  }

  public String message() {
    return fields.getOrDefault(MESSAGE, "");
  }

  /** The non-localized severity when present (PostgreSQL 9.6+), else the localized one. */
  public String severity() {
    String v = fields.get(SEVERITY_V);
    return v != null ? v : fields.getOrDefault(SEVERITY, "");
  }

  public boolean isFatal() {
    String s = severity();
    return s.equals("FATAL") || s.equals("PANIC");
  }

  /** SQLSTATE and message: what a log line shows. Message text comes from the server. */
  public String summary() {
    return severity() + " " + sqlState() + " " + message();
  }
}
