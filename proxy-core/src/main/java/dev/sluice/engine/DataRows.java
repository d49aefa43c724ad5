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
