package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.config.TlsMode;
import dev.sluice.protocol.ProtocolCodes;
import dev.sluice.protocol.frontend.StartupMessage;
import dev.sluice.testing.PostgresExtension;
import dev.sluice.testing.PostgresServer;
import dev.sluice.testing.TestCertificates;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.postgresql.util.PSQLException;

/**
 * PostgreSQL 17's direct TLS ({@code sslnegotiation=direct}): the client starts the TLS handshake
 * at once, without SSLRequest, and must negotiate ALPN {@code postgresql}. With pgjdbc (42.7.4+)
 * and with a raw Java TLS socket that then speaks the startup protocol itself.
 */
@ExtendWith(PostgresExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DirectTlsIT {
  private PostgresServer pg;
  private TlsFiles files;

  @BeforeAll
  void certificates(PostgresServer pg) throws Exception {
    this.pg = pg;
    this.files = TlsFiles.create();
  }

  private TestSluice sluice(TlsMode mode) {
    return TestSluice.start(pg, b -> files.apply(b, mode));
  }

  @Test
  void pgjdbcWithSslNegotiationDirectLogsIn() throws Exception {
    // require: a direct TLS client counts as one that asked for TLS
    try (TestSluice s = sluice(TlsMode.REQUIRE);
        Connection c = pgjdbcDirect(s, "verify-full");
        ResultSet rs = c.createStatement().executeQuery("SELECT 6 * 7")) {
      rs.next();
      assertThat(rs.getInt(1)).isEqualTo(42);
    }
  }

  @Test
  void aRawTlsClientWithAlpnGetsItsAuthenticationRequestOverTls() throws Exception {
    try (TestSluice s = sluice(TlsMode.ALLOW);
        SSLSocket sock = directTls(s, "postgresql")) {
      sock.startHandshake();
      assertThat(sock.getApplicationProtocol()).isEqualTo("postgresql");
      sock.getOutputStream().write(startupPacket());
      sock.getOutputStream().flush();
      // AuthenticationSASL, with channel binding offered since this client is on TLS
      assertThat(saslMechanisms(sock.getInputStream()))
          .containsExactly("SCRAM-SHA-256-PLUS", "SCRAM-SHA-256");
    }
  }

  /** As PostgreSQL 17: direct TLS without ALPN is closed after the handshake, unanswered. */
  @Test
  void directTlsWithoutAlpnIsRefused() throws Exception {
    try (TestSluice s = sluice(TlsMode.ALLOW);
        SSLSocket sock = directTls(s)) {
      sock.startHandshake(); // the handshake itself succeeds: the client offered no ALPN
      assertThat(sock.getApplicationProtocol()).isEmpty();
      byte[] answer;
      try {
        sock.getOutputStream().write(startupPacket());
        sock.getOutputStream().flush();
        answer = sock.getInputStream().readAllBytes();
      } catch (SSLException | java.net.SocketException e) {
        answer = new byte[0]; // closed while the client was still writing: refused all the same
      }
      assertThat(answer).as("no authentication request").isEmpty();
      // and Sluice serves others as before
      try (Connection c = pgjdbcDirect(s, "verify-full")) {
        assertThat(c.isValid(5)).isTrue();
      }
    }
  }

  @Test
  void aHandshakeOfferingOnlyAnotherProtocolFails() throws Exception {
    try (TestSluice s = sluice(TlsMode.ALLOW);
        SSLSocket sock = directTls(s, "http/1.1")) {
      assertThatThrownBy(sock::startHandshake).isInstanceOf(SSLException.class);
    }
  }

  @Test
  void withTlsOffADirectHandshakeIsNotAnswered() throws Exception {
    try (TestSluice s = TestSluice.start(pg, b -> b.tlsMode(TlsMode.DISABLE));
        SSLSocket sock = directTls(s, "postgresql")) {
      assertThatThrownBy(sock::startHandshake).isInstanceOf(IOException.class);
      assertThatThrownBy(() -> pgjdbcDirect(s, "require").close())
          .isInstanceOf(PSQLException.class);
    }
  }

  private Connection pgjdbcDirect(TestSluice s, String sslmode) throws Exception {
    Properties p = new Properties();
    p.setProperty("user", pg.appUser());
    p.setProperty("password", pg.appPassword());
    p.setProperty("sslmode", sslmode);
    p.setProperty("sslNegotiation", "direct");
    p.setProperty("sslrootcert", files.root().toString());
    p.setProperty("connectTimeout", "10");
    return DriverManager.getConnection(
        "jdbc:postgresql://localhost:" + s.port() + "/" + pg.appDatabase(), p);
  }

  /** A TLS socket to Sluice trusting the test CA, offering {@code alpn} (none if empty). */
  private static SSLSocket directTls(TestSluice s, String... alpn) throws Exception {
    SSLContext tls = SSLContext.getInstance("TLS");
    tls.init(null, TestCertificates.authority().toTrustManagerFactory().getTrustManagers(), null);
    SSLSocket sock =
        (SSLSocket)
            tls.getSocketFactory()
                .createSocket(new Socket("127.0.0.1", s.port()), "localhost", s.port(), true);
    sock.setSoTimeout(10_000);
    SSLParameters params = sock.getSSLParameters();
    params.setServerNames(List.of(new javax.net.ssl.SNIHostName("localhost")));
    if (alpn.length > 0) {
      params.setApplicationProtocols(alpn);
    }
    sock.setSSLParameters(params);
    return sock;
  }

  /** Reads one AuthenticationSASL message and returns its mechanisms. */
  private static List<String> saslMechanisms(InputStream raw) throws IOException {
    DataInputStream in = new DataInputStream(raw);
    assertThat((char) in.readUnsignedByte()).as("message type").isEqualTo('R');
    byte[] body = new byte[in.readInt() - 4];
    in.readFully(body);
    ByteBuf b = Unpooled.wrappedBuffer(body);
    assertThat(b.readInt()).as("AuthenticationSASL").isEqualTo(10);
    List<String> out = new ArrayList<>();
    while (b.getByte(b.readerIndex()) != 0) {
      int end = b.indexOf(b.readerIndex(), b.writerIndex(), (byte) 0);
      out.add(b.readCharSequence(end - b.readerIndex(), StandardCharsets.UTF_8).toString());
      b.skipBytes(1);
    }
    return out;
  }

  private byte[] startupPacket() {
    Map<String, String> p = new LinkedHashMap<>();
    p.put("user", pg.appUser());
    p.put("database", pg.appDatabase());
    ByteBuf b = Unpooled.buffer();
    new StartupMessage(ProtocolCodes.PROTOCOL_3_0, p).encode(b);
    byte[] out = new byte[b.readableBytes()];
    b.readBytes(out);
    b.release();
    return out;
  }
}
