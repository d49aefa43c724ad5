package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.sluice.config.ConfigException;
import dev.sluice.config.ProxyConfig;
import dev.sluice.config.TlsMode;
import dev.sluice.protocol.ProtocolCodes;
import dev.sluice.protocol.frontend.StartupMessage;
import dev.sluice.testing.PostgresExtension;
import dev.sluice.testing.PostgresServer;
import dev.sluice.testing.ProcessResult;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.postgresql.util.PSQLException;
import org.slf4j.LoggerFactory;

/** TLS from clients to Sluice, with real clients: pgjdbc and psql. */
@ExtendWith(PostgresExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ClientTlsIT {
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

  private Connection jdbc(TestSluice s, String host, String sslmode) throws Exception {
    Properties p = new Properties();
    p.setProperty("user", pg.appUser());
    p.setProperty("password", pg.appPassword());
    p.setProperty("sslmode", sslmode);
    p.setProperty("sslrootcert", files.root().toString());
    p.setProperty("connectTimeout", "10");
    return DriverManager.getConnection(
        "jdbc:postgresql://" + host + ":" + s.port() + "/" + pg.appDatabase(), p);
  }

  @Test
  void pgjdbcVerifiesSluicesCertificate() throws Exception {
    try (TestSluice s = sluice(TlsMode.ALLOW);
        Connection c = jdbc(s, "localhost", "verify-full");
        ResultSet rs = c.createStatement().executeQuery("SELECT 41 + 1")) {
      rs.next();
      assertThat(rs.getInt(1)).isEqualTo(42);
    }
  }

  @Test
  void aHostNameTheCertificateDoesNotCarryIsRefusedByTheClient() {
    try (TestSluice s = sluice(TlsMode.ALLOW)) {
      assertThatThrownBy(() -> jdbc(s, "127.0.0.1", "verify-full").close())
          .isInstanceOf(PSQLException.class)
          .hasMessageContaining("127.0.0.1");
    }
  }

  @Test
  void psqlWithSslmodeRequireGetsTls() {
    try (TestSluice s = sluice(TlsMode.ALLOW)) {
      Map<String, String> env = new HashMap<>(s.libpqEnv());
      env.put("PGSSLMODE", "require");
      ProcessResult r =
          pg.run(
              List.of("psql", "-X", "-c", "\\conninfo", "-c", "SELECT 7"),
              env,
              Duration.ofSeconds(30));
      assertThat(r.succeeded()).as(r.toString()).isTrue();
      assertThat(r.stdout()).contains("SSL connection").contains("7");
    }
  }

  /**
   * {@code --tls-cert self-signed}: Sluice makes a certificate at start and says so; clients can
   * encrypt with it (sslmode=require) but not verify it.
   */
  @Test
  void aSelfSignedCertificateOnRequestAndSaysSo() throws Exception {
    Logger logger = (Logger) LoggerFactory.getLogger(ClientTls.class);
    ListAppender<ILoggingEvent> logged = new ListAppender<>();
    logged.start();
    logger.addAppender(logged);
    try (TestSluice s =
        TestSluice.start(pg, b -> b.tlsMode(TlsMode.ALLOW).tlsCert(ProxyConfig.SELF_SIGNED))) {
      List<ILoggingEvent> warnings;
      synchronized (logged) {
        warnings = logged.list.stream().filter(e -> e.getLevel() == Level.WARN).toList();
      }
      assertThat(warnings)
          .singleElement()
          .extracting(ILoggingEvent::getFormattedMessage)
          .asString()
          .contains("made a certificate for localhost, 127.0.0.1")
          .contains("development only")
          .doesNotContain("PRIVATE KEY");
      try (Connection c = jdbc(s, "localhost", "require")) { // 'N' would fail require
        assertThat(c.isValid(5)).isTrue();
      }
      assertThatThrownBy(() -> jdbc(s, "localhost", "verify-full").close())
          .as("not issued by any CA the client trusts")
          .isInstanceOf(PSQLException.class);
    } finally {
      logger.detachAppender(logged);
    }
  }

  /**
   * {@code allow} without a certificate keeps clients in plain text: no certificate is made unasked
   * (libpq's default sslmode=prefer would then encrypt every local connection).
   */
  @Test
  void allowWithoutACertificateAnswersNo() throws Exception {
    try (TestSluice s = TestSluice.start(pg, b -> b.tlsMode(TlsMode.ALLOW))) {
      assertThatThrownBy(() -> jdbc(s, "localhost", "require").close())
          .isInstanceOf(PSQLException.class)
          .hasMessageContaining("does not support SSL");
      try (Connection c = jdbc(s, "localhost", "prefer")) {
        assertThat(c.isValid(5)).isTrue();
      }
    }
  }

  @Test
  void requireWithoutACertificateIsAStartupError() {
    assertThatThrownBy(() -> TestSluice.start(pg, b -> b.tlsMode(TlsMode.REQUIRE)).close())
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("--tls-mode")
        .hasMessageContaining("needs --tls-cert and --tls-key");
  }

  @Test
  void requireRefusesAClientInPlainText() {
    try (TestSluice s = sluice(TlsMode.REQUIRE)) {
      assertThatThrownBy(() -> jdbc(s, "localhost", "disable").close())
          .isInstanceOf(PSQLException.class)
          .satisfies(e -> assertThat(((PSQLException) e).getSQLState()).isEqualTo("28000"))
          .hasMessageContaining("TLS required");
    }
  }

  /**
   * A startup packet in plain text after Sluice said 'S' (the CVE-2021-23214 class: bytes a man in
   * the middle injects before the handshake) is never read as protocol: the connection ends without
   * an authentication request.
   */
  @Test
  void plainTextAfterTheTlsAnswerIsNeverReadAsProtocol() throws Exception {
    try (TestSluice s = sluice(TlsMode.ALLOW);
        Socket sock = new Socket("127.0.0.1", s.port())) {
      sock.setSoTimeout(10_000);
      OutputStream out = sock.getOutputStream();
      InputStream in = sock.getInputStream();
      out.write(new byte[] {0, 0, 0, 8, 4, (byte) 0xd2, 0x16, 0x2f});
      out.flush();
      assertThat(in.read()).isEqualTo('S');
      out.write(startupPacket());
      out.flush();
      byte[] rest = in.readAllBytes(); // a TLS alert at most, then the end
      assertThat(rest.length == 0 || rest[0] != 'R').as("no authentication request").isTrue();
      // and Sluice serves others as before
      try (Connection c = jdbc(s, "localhost", "verify-full")) {
        assertThat(c.isValid(5)).isTrue();
      }
    }
  }

  @Test
  void bytesSentTogetherWithTheTlsRequestCloseTheConnection() throws Exception {
    try (TestSluice s = sluice(TlsMode.ALLOW);
        Socket sock = new Socket("127.0.0.1", s.port())) {
      sock.setSoTimeout(10_000);
      OutputStream out = sock.getOutputStream();
      byte[] req = {0, 0, 0, 8, 4, (byte) 0xd2, 0x16, 0x2f};
      byte[] startup = startupPacket();
      byte[] both = new byte[req.length + startup.length];
      System.arraycopy(req, 0, both, 0, req.length);
      System.arraycopy(startup, 0, both, req.length, startup.length);
      out.write(both);
      out.flush();
      byte[] answer = sock.getInputStream().readAllBytes();
      assertThat(answer).as("closed before any handshake").doesNotContain((byte) 'R');
    }
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
