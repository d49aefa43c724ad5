package dev.sluice.auth;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.error.SluiceException;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * pgjdbc, a real client, logs in to a {@link ScramServerExchange} over a loopback socket. After a
 * successful exchange the stand-in server answers with a FATAL 57P03: reaching it proves that the
 * driver accepted the server signature, which it checks before going on.
 */
class ScramServerExchangeJdbcTest {
  private static final String AUTHENTICATED = "57P03";
  private static final byte[] MOCK_SECRET = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);
  private static final ScramCredentials ALICE = ScramCredentials.derive("pass\u00A0word\u2168");

  private ServerSocket listener;
  private CompletableFuture<Void> served;

  @BeforeEach
  void listen() throws IOException {
    listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
    served = CompletableFuture.runAsync(this::serveOneLogin);
  }

  @AfterEach
  void close() throws Exception {
    listener.close();
    served.get(10, TimeUnit.SECONDS);
  }

  @Test
  void driverLogsInWithTheRightPassword() {
    assertThatThrownBy(() -> connect("alice", "pass\u00A0word\u2168"))
        .isInstanceOf(SQLException.class)
        .hasMessageContaining("authenticated alice")
        .extracting(e -> ((SQLException) e).getSQLState())
        .isEqualTo(AUTHENTICATED);
  }

  @Test
  void driverSeesPostgresFailureForAWrongPassword() {
    assertThatThrownBy(() -> connect("alice", "wrong"))
        .hasMessageContaining("password authentication failed for user \"alice\"")
        .extracting(e -> ((SQLException) e).getSQLState())
        .isEqualTo("28P01");
  }

  @Test
  void driverSeesTheSameFailureForAnUnknownUser() {
    assertThatThrownBy(() -> connect("mallory", "anything"))
        .hasMessageContaining("password authentication failed for user \"mallory\"")
        .extracting(e -> ((SQLException) e).getSQLState())
        .isEqualTo("28P01");
  }

  private void connect(String user, String password) throws SQLException {
    String url = "jdbc:postgresql://127.0.0.1:" + listener.getLocalPort() + "/db?sslmode=disable";
    DriverManager.getConnection(url, user, password).close();
  }

  private void serveOneLogin() {
    try (Socket socket = listener.accept()) {
      socket.setSoTimeout(10_000);
      DataInputStream in = new DataInputStream(new BufferedInputStream(socket.getInputStream()));
      DataOutputStream out =
          new DataOutputStream(new BufferedOutputStream(socket.getOutputStream()));
      String user = readStartupUser(in);
      boolean known = user.equals("alice");
      ScramCredentials credentials = known ? ALICE : ScramCredentials.mock(user, MOCK_SECRET);
      ScramServerExchange exchange =
          new ScramServerExchange(user, credentials, !known, new SecureRandom());
      send(out, 'R', authentication(10, cstring(ScramServerExchange.MECHANISM), new byte[] {0}));
      try {
        DataInputStream initial = new DataInputStream(new ByteArrayInputStream(read(in)));
        while (initial.readByte() != 0) {} // mechanism name
        byte[] clientFirst = new byte[initial.readInt()];
        initial.readFully(clientFirst);
        send(out, 'R', authentication(11, exchange.serverFirst(clientFirst)));
        send(out, 'R', authentication(12, exchange.serverFinal(read(in))));
        send(out, 'R', authentication(0));
        sendFatal(out, AUTHENTICATED, "authenticated " + user);
      } catch (SluiceException e) {
        sendFatal(out, e.state().code(), e.getMessage());
      }
    } catch (IOException e) {
      if (!listener.isClosed()) {
        throw new IllegalStateException(e);
      }
    }
  }

  /** Reads the StartupMessage for its user. */
  private static String readStartupUser(DataInputStream in) throws IOException {
    byte[] body = new byte[in.readInt() - 4];
    in.readFully(body);
    // The protocol version, then name/value pairs; an SSLRequest has no pairs and is refused.
    String[] fields = new String(body, 4, body.length - 4, StandardCharsets.UTF_8).split("\0");
    for (int i = 0; i + 1 < fields.length; i += 2) {
      if (fields[i].equals("user")) {
        return fields[i + 1];
      }
    }
    throw new IOException("no user in the startup packet");
  }

  /** Reads one 'p' message (SASLInitialResponse or SASLResponse) and returns its body. */
  private static byte[] read(DataInputStream in) throws IOException {
    byte type = in.readByte();
    if (type != 'p') {
      throw new IOException("expected a SASL response, got '" + (char) type + "'");
    }
    byte[] body = new byte[in.readInt() - 4];
    in.readFully(body);
    return body;
  }

  private static byte[] authentication(int subtype, byte[]... parts) throws IOException {
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    new DataOutputStream(body).writeInt(subtype);
    for (byte[] part : parts) {
      body.write(part);
    }
    return body.toByteArray();
  }

  private static void sendFatal(DataOutputStream out, String code, String message)
      throws IOException {
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    for (String field : new String[] {"SFATAL", "VFATAL", "C" + code, "M" + message}) {
      body.write(cstring(field));
    }
    body.write(0);
    send(out, 'E', body.toByteArray());
  }

  private static byte[] cstring(String s) {
    byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
    byte[] out = new byte[bytes.length + 1];
    System.arraycopy(bytes, 0, out, 0, bytes.length);
    return out;
  }

  private static void send(DataOutputStream out, char type, byte[] body) throws IOException {
    out.writeByte(type);
    out.writeInt(body.length + 4);
    out.write(body);
    out.flush();
  }
}
