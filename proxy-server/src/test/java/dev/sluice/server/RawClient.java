package dev.sluice.server;

import dev.sluice.auth.ScramClient;
import dev.sluice.auth.ScramKeyCache;
import dev.sluice.protocol.ProtocolCodes;
import dev.sluice.protocol.backend.ErrorResponse;
import dev.sluice.protocol.frontend.Describe;
import dev.sluice.protocol.frontend.Parse;
import dev.sluice.protocol.frontend.PasswordMessage;
import dev.sluice.protocol.frontend.Query;
import dev.sluice.protocol.frontend.StartupMessage;
import dev.sluice.protocol.frontend.Sync;
import dev.sluice.testing.PostgresServer;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * A minimal protocol client for tests that need exact control of the message sequence (pgjdbc
 * decides its own batching). Logs in with SCRAM; messages are buffered until {@link #sync()} or
 * {@link #query}; replies are summarised one string per message: the type byte, with the SQLSTATE
 * for errors ({@code E:26000}) and the status for ReadyForQuery ({@code Z:I}).
 */
final class RawClient implements AutoCloseable {
  private final Socket socket;
  private final DataInputStream in;
  private final OutputStream out;
  private final ByteBuf pending = Unpooled.buffer();

  /** The ParameterStatus values reported at login, in order. */
  final Map<String, String> parameters = new LinkedHashMap<>();

  private RawClient(Socket socket) throws IOException {
    this.socket = socket;
    this.socket.setSoTimeout(30_000);
    this.in = new DataInputStream(socket.getInputStream());
    this.out = socket.getOutputStream();
  }

  /** A login the server refused, with the ErrorResponse it sent. */
  static final class LoginRefused extends IOException {
    private static final long serialVersionUID = 1L;
    final transient ErrorResponse error;

    LoginRefused(ErrorResponse error) {
      super("login failed: " + error.summary());
      this.error = error;
    }
  }

  /** SCRAM keys derived once per test JVM (PBKDF2 per login would dominate login-heavy tests). */
  private static final ScramKeyCache KEYS = new ScramKeyCache();

  static RawClient connect(TestSluice s, PostgresServer pg) throws IOException {
    return connect(s, pg, Map.of());
  }

  /** Logs in with {@code extra} startup parameters besides user and database. */
  static RawClient connect(TestSluice s, PostgresServer pg, Map<String, String> extra)
      throws IOException {
    return connect(s.port(), pg, extra);
  }

  /**
   * Logs in as the app user at {@code port} on 127.0.0.1: Sluice's, or PostgreSQL's own to see what
   * it does with the same startup packet.
   */
  static RawClient connect(int port, PostgresServer pg, Map<String, String> extra)
      throws IOException {
    RawClient c = new RawClient(new Socket("127.0.0.1", port));
    Map<String, String> params = new LinkedHashMap<>();
    params.put("user", pg.appUser());
    params.put("database", pg.appDatabase());
    params.putAll(extra);
    c.add(o -> new StartupMessage(ProtocolCodes.PROTOCOL_3_0, params).encode(o));
    c.sendBuffered();
    ScramClient scram = new ScramClient(pg.appPassword(), KEYS, new SecureRandom());
    while (true) {
      char type = (char) c.in.readByte();
      byte[] body = new byte[c.in.readInt() - 4];
      c.in.readFully(body);
      if (type == 'R') {
        int code = Unpooled.wrappedBuffer(body).getInt(0);
        byte[] data = java.util.Arrays.copyOfRange(body, 4, body.length);
        switch (code) {
          case 10 ->
              c.add(
                  o -> PasswordMessage.encodeSaslInitial(o, "SCRAM-SHA-256", scram.clientFirst()));
          case 11 -> c.add(o -> PasswordMessage.encodeSaslResponse(o, scram.clientFinal(data)));
          case 12 -> scram.verifyServerFinal(data);
          default -> {}
        }
        c.sendBuffered();
      } else if (type == 'S') {
        ByteBuf b = Unpooled.wrappedBuffer(body);
        c.parameters.put(cstring(b), cstring(b));
      } else if (type == 'E') {
        c.socket.close();
        throw new LoginRefused(ErrorResponse.decode(Unpooled.wrappedBuffer(body)));
      } else if (type == 'Z') {
        return c;
      }
    }
  }

  void parse(String name, String sql) {
    add(o -> new Parse(name, sql, new int[0]).encode(o));
  }

  /** Bind without parameters, text results. */
  void bind(String portal, String statement) {
    add(
        o -> {
          o.writeByte('B');
          int at = o.writerIndex();
          o.writeInt(0);
          writeCString(o, portal);
          writeCString(o, statement);
          o.writeShort(0).writeShort(0).writeShort(0);
          o.setInt(at, o.writerIndex() - at);
        });
  }

  /** Parse with declared parameter types. */
  void parse(String name, String sql, int[] types) {
    add(o -> new Parse(name, sql, types).encode(o));
  }

  /**
   * Bind with text parameters (null for SQL NULL) in {@code paramFormat} (0 text, 1 binary: the
   * caller passes the bytes), and one result format for every column.
   */
  void bind(
      String portal, String statement, short paramFormat, byte[][] params, short resultFormat) {
    add(
        o -> {
          o.writeByte('B');
          int at = o.writerIndex();
          o.writeInt(0);
          writeCString(o, portal);
          writeCString(o, statement);
          o.writeShort(1).writeShort(paramFormat);
          o.writeShort(params.length);
          for (byte[] p : params) {
            if (p == null) {
              o.writeInt(-1);
            } else {
              o.writeInt(p.length).writeBytes(p);
            }
          }
          o.writeShort(1).writeShort(resultFormat);
          o.setInt(at, o.writerIndex() - at);
        });
  }

  void describePortal(String name) {
    add(o -> new Describe(Describe.PORTAL, name).encode(o, (byte) 'D'));
  }

  /**
   * Reads replies up to and including the next ReadyForQuery as the exact bytes received, less
   * ParameterStatus and NoticeResponse messages.
   */
  byte[] readRawUntilReady() throws IOException {
    java.io.ByteArrayOutputStream seen = new java.io.ByteArrayOutputStream();
    while (true) {
      char type = (char) in.readByte();
      int len = in.readInt();
      byte[] body = new byte[len - 4];
      in.readFully(body);
      if (type == 'S' || type == 'N') {
        continue;
      }
      seen.write(type);
      seen.write(len >>> 24);
      seen.write(len >>> 16);
      seen.write(len >>> 8);
      seen.write(len);
      seen.write(body, 0, body.length);
      if (type == 'Z') {
        return seen.toByteArray();
      }
    }
  }

  void execute(String portal) {
    add(
        o -> {
          o.writeByte('E');
          int at = o.writerIndex();
          o.writeInt(0);
          writeCString(o, portal);
          o.writeInt(0);
          o.setInt(at, o.writerIndex() - at);
        });
  }

  void describeStatement(String name) {
    add(o -> new Describe(Describe.STATEMENT, name).encode(o, (byte) 'D'));
  }

  void close(String statement) {
    add(o -> new Describe(Describe.STATEMENT, statement).encode(o, (byte) 'C'));
  }

  /** FunctionCall of {@code oid} with no arguments and a text result; sent at once. */
  void functionCall(int oid) throws IOException {
    add(o -> o.writeByte('F').writeInt(14).writeInt(oid).writeShort(0).writeShort(0).writeShort(0));
    sendBuffered();
  }

  void sync() throws IOException {
    add(Sync::encode);
    sendBuffered();
  }

  /** Buffers a Query without sending it, to pipeline it with what follows. */
  void addQuery(String sql) {
    add(o -> new Query(sql).encode(o));
  }

  void query(String sql) throws IOException {
    add(o -> new Query(sql).encode(o));
    sendBuffered();
  }

  /** Sends a Flush and everything buffered. */
  void flush() throws IOException {
    add(o -> o.writeByte('H').writeInt(4));
    sendBuffered();
  }

  /** Writes bytes as they are, for tests that split a message across writes. */
  void sendRaw(byte[] bytes, int offset, int length) throws IOException {
    out.write(bytes, offset, length);
    out.flush();
  }

  /** Reads one reply, summarised like {@link #readUntilReady}. */
  String readOne() throws IOException {
    while (true) {
      char type = (char) in.readByte();
      byte[] body = new byte[in.readInt() - 4];
      in.readFully(body);
      switch (type) {
        case 'E' -> {
          return "E:" + ErrorResponse.decode(Unpooled.wrappedBuffer(body)).sqlState();
        }
        case 'Z' -> {
          return "Z:" + (char) body[0];
        }
        case 'S', 'N' -> {}
        default -> {
          return String.valueOf(type);
        }
      }
    }
  }

  /**
   * Runs {@code sql} and returns the text of the first column of its first row (null for SQL NULL
   * or no row); an error is thrown as an IOException naming its SQLSTATE.
   */
  String queryValue(String sql) throws IOException {
    query(sql);
    String value = null;
    boolean seenRow = false;
    String error = null;
    while (true) {
      char type = (char) in.readByte();
      byte[] body = new byte[in.readInt() - 4];
      in.readFully(body);
      switch (type) {
        case 'D' -> {
          ByteBuf b = Unpooled.wrappedBuffer(body);
          if (!seenRow && b.readShort() > 0) {
            int len = b.readInt();
            value =
                len < 0
                    ? null
                    : b.readCharSequence(len, java.nio.charset.StandardCharsets.UTF_8).toString();
          }
          seenRow = true;
        }
        case 'E' -> error = ErrorResponse.decode(Unpooled.wrappedBuffer(body)).summary();
        case 'Z' -> {
          if (error != null) {
            throw new IOException(error);
          }
          return value;
        }
        default -> {}
      }
    }
  }

  /** Reads replies up to and including the next ReadyForQuery. */
  List<String> readUntilReady() throws IOException {
    List<String> seen = new ArrayList<>();
    while (true) {
      char type = (char) in.readByte();
      byte[] body = new byte[in.readInt() - 4];
      in.readFully(body);
      switch (type) {
        case 'E' -> seen.add("E:" + ErrorResponse.decode(Unpooled.wrappedBuffer(body)).sqlState());
        case 'Z' -> {
          seen.add("Z:" + (char) body[0]);
          return seen;
        }
        case 'S', 'N' -> {}
        default -> seen.add(String.valueOf(type));
      }
    }
  }

  private void add(Consumer<ByteBuf> encoder) {
    encoder.accept(pending);
  }

  private void sendBuffered() throws IOException {
    byte[] b = new byte[pending.readableBytes()];
    pending.readBytes(b);
    pending.clear();
    out.write(b);
    out.flush();
  }

  private static String cstring(ByteBuf b) {
    int end = b.indexOf(b.readerIndex(), b.writerIndex(), (byte) 0);
    String s = b.toString(b.readerIndex(), end - b.readerIndex(), StandardCharsets.UTF_8);
    b.readerIndex(end + 1);
    return s;
  }

  private static void writeCString(ByteBuf o, String s) {
    o.writeCharSequence(s, java.nio.charset.StandardCharsets.UTF_8);
    o.writeByte(0);
  }

  @Override
  public void close() throws IOException {
    pending.release();
    socket.close();
  }
}
