package dev.sluice.server;

import dev.sluice.auth.ScramClient;
import dev.sluice.auth.ScramKeyCache;
import dev.sluice.protocol.ProtocolCodes;
import dev.sluice.protocol.backend.ErrorResponse;
import dev.sluice.protocol.frontend.PasswordMessage;
import dev.sluice.protocol.frontend.StartupMessage;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;

/**
 * A byte-level client script for the protocol front door: exact bytes out, replies read one message
 * at a time, and the end of the stream observed. For the attacks RawClient's well-behaved client
 * cannot make.
 */
final class ScriptClient implements AutoCloseable {
  private final Socket socket;
  private final DataInputStream in;
  private final OutputStream out;

  /** One reply: its type byte and body. */
  record Reply(char type, byte[] body) {
    String sqlState() {
      return type == 'E' ? ErrorResponse.decode(Unpooled.wrappedBuffer(body)).sqlState() : null;
    }

    int authCode() {
      return type == 'R' ? Unpooled.wrappedBuffer(body).getInt(0) : -1;
    }
  }

  static final String MECH = "SCRAM-SHA-256";

  /** The ErrorResponse that ended a login. */
  static final class LoginRefused extends IOException {
    private static final long serialVersionUID = 1L;
    final transient Reply error;

    LoginRefused(Reply error) {
      super("login refused: " + error.sqlState());
      this.error = error;
    }
  }

  private static final ScramKeyCache KEYS = new ScramKeyCache();

  ScriptClient(int port) throws IOException {
    socket = new Socket("127.0.0.1", port);
    socket.setSoTimeout(15_000);
    in = new DataInputStream(socket.getInputStream());
    out = socket.getOutputStream();
  }

  static byte[] bytes(Consumer<ByteBuf> encoder) {
    ByteBuf b = Unpooled.buffer();
    encoder.accept(b);
    byte[] a = new byte[b.readableBytes()];
    b.readBytes(a);
    b.release();
    return a;
  }

  static byte[] startup(String user, String database) {
    Map<String, String> p = new LinkedHashMap<>();
    p.put("user", user);
    p.put("database", database);
    return bytes(o -> new StartupMessage(ProtocolCodes.PROTOCOL_3_0, p).encode(o));
  }

  /** A typed message with {@code body}; its length field says what it is. */
  static byte[] message(char type, byte[] body) {
    return bytes(o -> o.writeByte(type).writeInt(body.length + 4).writeBytes(body));
  }

  /** A header declaring {@code length} and whatever {@code body} follows it. */
  static byte[] header(char type, int length, byte[] body) {
    return bytes(o -> o.writeByte(type).writeInt(length).writeBytes(body));
  }

  static byte[] query(String sql) {
    return message('Q', (sql + "\0").getBytes(StandardCharsets.UTF_8));
  }

  static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    for (byte[] p : parts) {
      b.writeBytes(p);
    }
    return b.toByteArray();
  }

  ScriptClient send(byte[]... parts) throws IOException {
    out.write(concat(parts));
    out.flush();
    return this;
  }

  /** The next message, skipping ParameterStatus and notices. */
  Reply read() throws IOException {
    while (true) {
      char type = (char) in.readByte();
      int len = in.readInt();
      byte[] body = new byte[len - 4];
      in.readFully(body);
      if (type != 'S' && type != 'N') {
        return new Reply(type, body);
      }
    }
  }

  /** Logs in with SCRAM as a well-behaved client would; returns once ReadyForQuery arrived. */
  ScriptClient login(String user, String database, String password) throws IOException {
    send(startup(user, database));
    ScramClient scram = new ScramClient(password, KEYS, new SecureRandom());
    while (true) {
      Reply r = read();
      switch (r.type()) {
        case 'R' -> {
          byte[] data = Arrays.copyOfRange(r.body(), 4, r.body().length);
          switch (r.authCode()) {
            case 10 ->
                send(bytes(o -> PasswordMessage.encodeSaslInitial(o, MECH, scram.clientFirst())));
            case 11 ->
                send(bytes(o -> PasswordMessage.encodeSaslResponse(o, scram.clientFinal(data))));
            case 12 -> scram.verifyServerFinal(data);
            default -> {}
          }
        }
        case 'Z' -> {
          return this;
        }
        case 'E' -> throw new LoginRefused(r);
        default -> {}
      }
    }
  }

  /** A single byte, as the answer to an SSLRequest. */
  int readByte() throws IOException {
    return in.read();
  }

  /** Reads what is left until Sluice closes the connection; fails if it stays open. */
  byte[] readToEnd() throws IOException {
    try {
      return in.readAllBytes();
    } catch (SocketException reset) {
      return new byte[0]; // reset by peer: closed too
    }
  }

  /** Expects an ErrorResponse with {@code sqlState}, then the end of the stream. */
  Reply expectErrorAndClose(String sqlState) throws IOException {
    Reply r = read();
    if (r.type() != 'E' || !sqlState.equals(r.sqlState())) {
      throw new AssertionError("expected ErrorResponse " + sqlState + ", got " + describe(r));
    }
    byte[] rest = readToEnd();
    if (rest.length != 0) {
      throw new AssertionError(rest.length + " bytes after the ErrorResponse");
    }
    return r;
  }

  static String describe(Reply r) {
    return r.type() == 'E' ? "E:" + r.sqlState() : String.valueOf(r.type());
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
