package dev.sluice.protocol.backend;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * RowDescription and DataRow for results Sluice makes itself (its admin console): every column text
 * (type {@code text}, OID 25), every value a string or SQL NULL.
 */
public final class TextRows {
  private static final int TEXT_OID = 25;

  private TextRows() {}

  public static void rowDescription(ByteBuf out, List<String> columns) {
    out.writeByte('T');
    int at = out.writerIndex();
    out.writeInt(0).writeShort(columns.size());
    for (String c : columns) {
      out.writeCharSequence(c, StandardCharsets.UTF_8);
      out.writeByte(0);
      out.writeInt(0).writeShort(0).writeInt(TEXT_OID).writeShort(-1).writeInt(-1).writeShort(0);
    }
    out.setInt(at, out.writerIndex() - at);
  }

  public static void dataRow(ByteBuf out, List<String> values) {
    out.writeByte('D');
    int at = out.writerIndex();
    out.writeInt(0).writeShort(values.size());
    for (String v : values) {
      if (v == null) {
        out.writeInt(-1);
      } else {
        byte[] b = v.getBytes(StandardCharsets.UTF_8);
        out.writeInt(b.length).writeBytes(b);
      }
    }
    out.setInt(at, out.writerIndex() - at);
  }
}
