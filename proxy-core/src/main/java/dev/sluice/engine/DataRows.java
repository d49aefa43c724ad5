package dev.sluice.engine;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** Reading the rare DataRow Sluice needs itself (results of its own hidden queries). */
public final class DataRows {
  private DataRows() {}

  /**
   * The text columns of the first DataRow in {@code frames} (one message or a run of them); null
   * for SQL NULL.
   */
  /** The text columns of every DataRow in {@code frames} (one message or a run of them). */
  public static List<List<String>> allRowsText(ByteBuf frames) {
    ByteBuf b = frames.duplicate();
    List<List<String>> rows = new ArrayList<>();
    while (b.readableBytes() >= 7 && b.getByte(b.readerIndex()) == 'D') {
      int start = b.readerIndex();
      int length = b.getInt(start + 1);
      rows.add(firstRowText(b.slice(start, 1 + length)));
      b.readerIndex(start + 1 + length);
    }
    return rows;
  }

  public static List<String> firstRowText(ByteBuf frames) {
    ByteBuf b = frames.duplicate();
    List<String> values = new ArrayList<>();
    if (b.readableBytes() < 7 || b.readByte() != 'D') {
      return values;
    }
    b.readInt();
    int n = b.readUnsignedShort();
    for (int i = 0; i < n; i++) {
      int len = b.readInt();
      if (len < 0) {
        values.add(null);
      } else {
        values.add(b.readCharSequence(len, StandardCharsets.UTF_8).toString());
      }
    }
    return values;
  }
}
