package dev.sluice.engine;

import dev.sluice.protocol.Frame;
import dev.sluice.protocol.backend.CommandComplete;
import dev.sluice.protocol.backend.ErrorResponse;
import dev.sluice.protocol.backend.ParameterStatus;
import dev.sluice.protocol.backend.ReadyForQuery;
import dev.sluice.protocol.frontend.Describe;
import dev.sluice.protocol.frontend.Parse;
import dev.sluice.protocol.frontend.Query;
import dev.sluice.protocol.frontend.Sync;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Protocol messages for the engine's scripted tests, both directions, and one-line summaries of
 * what the engine wrote: the type byte, with what matters for the test ({@code Q:SELECT 1}, {@code
 * E:57014}, {@code Z:I}, {@code C:SELECT 1}).
 */
final class Wire {
  private Wire() {}

  static Frame frame(Consumer<ByteBuf> encoder) {
    ByteBuf b = Unpooled.buffer();
    encoder.accept(b);
    return new Frame(b.getByte(0), b);
  }

  // ---- frontend ----

  static Frame query(String sql) {
    return frame(o -> new Query(sql).encode(o));
  }

  static Frame parse(String name, String sql) {
    return frame(o -> new Parse(name, sql, new int[0]).encode(o));
  }

  /** Bind without parameters; {@code resultFormats} per-column result formats (0: default). */
  static Frame bind(String portal, String statement, int resultFormats) {
    return frame(
        o -> {
          o.writeByte('B');
          int at = o.writerIndex();
          o.writeInt(0);
          cstring(o, portal);
          cstring(o, statement);
          o.writeShort(0).writeShort(0).writeShort(resultFormats);
          for (int i = 0; i < resultFormats; i++) {
            o.writeShort(0);
          }
          o.setInt(at, o.writerIndex() - at);
        });
  }

  static Frame execute(String portal) {
    return frame(
        o -> {
          o.writeByte('E');
          int at = o.writerIndex();
          o.writeInt(0);
          cstring(o, portal);
          o.writeInt(0);
          o.setInt(at, o.writerIndex() - at);
        });
  }

  static Frame describeStatement(String name) {
    return frame(o -> new Describe(Describe.STATEMENT, name).encode(o, (byte) 'D'));
  }

  static Frame sync() {
    return frame(Sync::encode);
  }

  /** CopyData messages arrive from a client as a run. */
  static Frame copyDataRun(String... rows) {
    ByteBuf b = Unpooled.buffer();
    for (String r : rows) {
      byte[] bytes = r.getBytes(StandardCharsets.UTF_8);
      b.writeByte('d').writeInt(4 + bytes.length).writeBytes(bytes);
    }
    return new Frame(Frame.RUN, b);
  }

  static Frame copyDone() {
    return frame(o -> o.writeByte('c').writeInt(4));
  }

  // ---- backend ----

  static Frame ready(char status) {
    return frame(ReadyForQuery.of((byte) status)::encode);
  }

  static Frame commandComplete(String tag) {
    return frame(o -> new CommandComplete(tag).encode(o));
  }

  /** A RowDescription of one text column {@code name}. */
  static Frame rowDescription(String name) {
    return frame(
        o -> {
          o.writeByte('T');
          int at = o.writerIndex();
          o.writeInt(0).writeShort(1);
          cstring(o, name);
          o.writeInt(0).writeShort(0).writeInt(25).writeShort(-1).writeInt(-1).writeShort(0);
          o.setInt(at, o.writerIndex() - at);
        });
  }

  /** DataRows of one text column, as a run (as the decoder delivers them). */
  static Frame dataRows(String... values) {
    ByteBuf b = Unpooled.buffer();
    for (String v : values) {
      byte[] bytes = v.getBytes(StandardCharsets.UTF_8);
      b.writeByte('D').writeInt(4 + 2 + 4 + bytes.length).writeShort(1);
      b.writeInt(bytes.length).writeBytes(bytes);
    }
    return new Frame(Frame.RUN, b);
  }

  static Frame error(String severity, String code, String message) {
    return frame(
        o ->
            ErrorResponse.of(
                    "FATAL".equals(severity)
                        ? dev.sluice.protocol.Severity.FATAL
                        : dev.sluice.protocol.Severity.ERROR,
                    code,
                    message,
                    null,
                    null)
                .encode(o));
  }

  /** A NoticeResponse (severity WARNING), as a backend sends before quitting on a crash. */
  static Frame notice(String code, String message) {
    return frame(
        o ->
            ErrorResponse.of(dev.sluice.protocol.Severity.WARNING, code, message, null, null)
                .encodeAsNotice(o));
  }

  static Frame empty(char type) {
    return frame(o -> o.writeByte(type).writeInt(4));
  }

  static Frame parameterStatus(String name, String value) {
    return frame(o -> new ParameterStatus(name, value).encode(o));
  }

  /** CopyInResponse / CopyOutResponse ('G' / 'H'), text, no columns. */
  static Frame copyResponse(char type) {
    return frame(o -> o.writeByte(type).writeInt(7).writeByte(0).writeShort(0));
  }

  static Frame copyData(String row) {
    byte[] bytes = row.getBytes(StandardCharsets.UTF_8);
    return frame(o -> o.writeByte('d').writeInt(4 + bytes.length).writeBytes(bytes));
  }

  // ---- reading what the engine wrote ----

  /** Summaries of every message in {@code bufs}, which are released. */
  static List<String> summarize(List<ByteBuf> bufs, boolean toClient) {
    List<String> out = new ArrayList<>();
    for (ByteBuf b : bufs) {
      while (b.isReadable()) {
        char type = (char) b.readByte();
        int len = b.readInt();
        ByteBuf body = b.readSlice(len - 4);
        out.add(toClient ? backendSummary(type, body) : frontendSummary(type, body));
      }
      b.release();
    }
    bufs.clear();
    return out;
  }

  private static String backendSummary(char type, ByteBuf body) {
    return switch (type) {
      case 'E', 'N' -> type + ":" + ErrorResponse.decode(body).sqlState();
      case 'Z' -> "Z:" + (char) body.getByte(0);
      case 'C' -> "C:" + CommandComplete.decode(body).tag();
      case 'S' -> {
        ParameterStatus p = ParameterStatus.decode(body);
        yield "S:" + p.name() + "=" + p.value();
      }
      case 'D' -> "D:" + dataRowValue(body);
      default -> String.valueOf(type);
    };
  }

  private static String dataRowValue(ByteBuf body) {
    body.readShort();
    int len = body.readInt();
    return len < 0 ? "null" : body.readCharSequence(len, StandardCharsets.UTF_8).toString();
  }

  private static String frontendSummary(char type, ByteBuf body) {
    return switch (type) {
      case 'Q' -> "Q:" + cstringAt(body);
      case 'P' -> {
        String name = cstringAt(body);
        yield "P:" + name + ":" + cstringAt(body);
      }
      case 'B' -> {
        String portal = cstringAt(body);
        yield "B:" + portal + ":" + cstringAt(body);
      }
      case 'D', 'C' -> type + ":" + (char) body.readByte() + cstringAt(body);
      default -> String.valueOf(type);
    };
  }

  private static String cstringAt(ByteBuf b) {
    int end = b.indexOf(b.readerIndex(), b.writerIndex(), (byte) 0);
    String s = b.toString(b.readerIndex(), end - b.readerIndex(), StandardCharsets.UTF_8);
    b.readerIndex(end + 1);
    return s;
  }

  private static void cstring(ByteBuf o, String s) {
    o.writeCharSequence(s, StandardCharsets.UTF_8);
    o.writeByte(0);
  }
}
