package dev.sluice.engine;

import dev.sluice.protocol.Frame;
import dev.sluice.protocol.FrontendType;
import dev.sluice.protocol.frontend.Bind;
import dev.sluice.protocol.frontend.Describe;
import io.netty.buffer.ByteBuf;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * An extended-protocol batch the result cache is gathering up to its Sync, and the rules of the one
 * shape it serves: {@code [Parse (unnamed)] Bind (unnamed portal) [Describe (unnamed)] Execute
 * (unnamed portal, all rows) Sync}. The frames are held, not released, until the batch is answered
 * or passed on.
 */
final class CacheBatch {
  private static final int MAX_FRAMES = 6;
  private static final int MAX_BYTES = 64 * 1024;

  private final List<Frame> frames = new ArrayList<>();
  private int bytes;

  boolean gathering() {
    return !frames.isEmpty();
  }

  void start(Frame f) {
    frames.add(f);
    bytes = f.size();
  }

  Frame first() {
    return frames.get(0);
  }

  /**
   * Whether {@code f} keeps the batch's shape; {@code bind} and {@code describe} are {@code f}
   * decoded, when it is one.
   */
  boolean fits(Frame f, Bind bind, Describe describe) {
    if (frames.size() >= MAX_FRAMES || bytes + f.size() > MAX_BYTES) {
      return false;
    }
    return switch (FrontendType.of(f.type())) {
      case BIND ->
          !has(FrontendType.BIND)
              && bind.portal().isEmpty()
              && bind.statement().isEmpty()
              && has(FrontendType.PARSE);
      case DESCRIBE ->
          describe.name().isEmpty()
              && !has(FrontendType.EXECUTE)
              && (!describe.isStatement() || has(FrontendType.PARSE));
      case EXECUTE -> has(FrontendType.BIND) && !has(FrontendType.EXECUTE) && allRows(f);
      case SYNC -> has(FrontendType.EXECUTE);
      default -> false;
    };
  }

  void add(Frame f) {
    frames.add(f);
    bytes += f.size();
  }

  /** The frames gathered, in order; the batch is empty afterwards. */
  List<Frame> take() {
    List<Frame> out = new ArrayList<>(frames);
    frames.clear();
    bytes = 0;
    return out;
  }

  private boolean has(FrontendType type) {
    for (Frame f : frames) {
      if (f.type() == type.code()) {
        return true;
      }
    }
    return false;
  }

  /** An Execute of the unnamed portal with no row limit. */
  private static boolean allRows(Frame f) {
    ByteBuf body = f.body();
    int at = body.readerIndex();
    return body.readableBytes() == 5 && body.getByte(at) == 0 && body.getInt(at + 1) == 0;
  }

  /**
   * The request part of the cache key: the batch with its names taken out. The statement's text and
   * parameter types, then each message's type and what in it changes the answer (Bind's parameter
   * formats and values and result formats, Describe's kind).
   */
  static byte[] key(List<Frame> frames, String sql, int[] types) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(256);
    byte[] text = sql.getBytes(StandardCharsets.UTF_8);
    writeInt(out, text.length);
    out.write(text, 0, text.length);
    writeInt(out, types.length);
    for (int t : types) {
      writeInt(out, t);
    }
    for (Frame f : frames) {
      out.write(f.type());
      ByteBuf body = f.body();
      if (f.type() == FrontendType.BIND.code()) {
        int start = body.readerIndex();
        int afterPortal = body.indexOf(start, body.writerIndex(), (byte) 0) + 1;
        int afterStatement = body.indexOf(afterPortal, body.writerIndex(), (byte) 0) + 1;
        byte[] rest = new byte[body.writerIndex() - afterStatement];
        body.getBytes(afterStatement, rest);
        out.write(rest, 0, rest.length);
      } else if (f.type() == FrontendType.DESCRIBE.code()) {
        out.write(body.getByte(body.readerIndex()));
      }
    }
    return out.toByteArray();
  }

  private static void writeInt(ByteArrayOutputStream out, int v) {
    out.write(v >>> 24);
    out.write(v >>> 16);
    out.write(v >>> 8);
    out.write(v);
  }

  /** Releases what is held (the session is closing). */
  void release() {
    frames.forEach(Frame::release);
    frames.clear();
    bytes = 0;
  }
}
