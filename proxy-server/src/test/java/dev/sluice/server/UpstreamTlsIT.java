package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.config.HostAndPort;
import dev.sluice.config.Upstream;
import dev.sluice.config.Upstream.SslMode;
import dev.sluice.testing.PostgresExtension;
import dev.sluice.testing.PostgresServer;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.postgresql.util.PSQLException;

/**
 * TLS from Sluice to the upstream, with libpq's sslmode semantics, against the test PostgreSQL
 * (ssl=on, a certificate from a throwaway CA that names {@code localhost} only).
 */
@ExtendWith(PostgresExtension.class)
class UpstreamTlsIT {
  private final PostgresServer pg;

  UpstreamTlsIT(PostgresServer pg) {
    this.pg = pg;
  }

  @BeforeEach
  void needsTheManagedServer() {
    Assumptions.assumeTrue(pg.managed(), "needs the test server with its test CA");
  }

  private TestSluice sluice(String host, SslMode mode, boolean withRoot) {
    Map<String, String> params = new HashMap<>();
    if (withRoot) {
      params.put("sslrootcert", pg.tlsRootCert().toString());
    }
    Upstream up =
        new Upstream(
            List.of(new HostAndPort(host, pg.port())),
            pg.appDatabase(),
            pg.appUser(),
            pg.appPassword(),
            mode,
            params);
    return TestSluice.start(
        pg, b -> b.upstream(up).minIdle(0).connectTimeout(Duration.ofSeconds(5)));
  }

  /** Whether the backend serving {@code c} talks to Sluice over TLS, as PostgreSQL sees it. */
  private static boolean backendUsesTls(Connection c) throws SQLException {
    try (ResultSet rs =
        c.createStatement()
            .executeQuery("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")) {
      rs.next();
      return rs.getBoolean(1);
    }
  }

  @Test
  void requireEncryptsWithoutCheckingTheCertificate() throws SQLException {
    try (TestSluice s = sluice("127.0.0.1", SslMode.REQUIRE, false);
        Connection c = s.connect()) {
      assertThat(backendUsesTls(c)).isTrue();
    }
  }

  @Test
  void verifyFullAcceptsTheServerUnderTheNameItsCertificateCarries() throws SQLException {
    try (TestSluice s = sluice("localhost", SslMode.VERIFY_FULL, true);
        Connection c = s.connect()) {
      assertThat(backendUsesTls(c)).isTrue();
    }
  }

  @Test
  void verifyFullRefusesAHostNameTheCertificateDoesNotCarry() {
    try (TestSluice s = sluice("127.0.0.1", SslMode.VERIFY_FULL, true)) {
      assertThatThrownBy(s::connect)
          .isInstanceOf(PSQLException.class)
          .satisfies(e -> assertThat(((PSQLException) e).getSQLState()).isEqualTo("08001"))
          .hasMessageContaining("TLS handshake with the upstream server at 127.0.0.1")
          .hasMessageContaining("sslmode=verify-full");
    }
  }

  @Test
  void verifyCaChecksTheChainButNotTheName() throws SQLException {
    try (TestSluice s = sluice("127.0.0.1", SslMode.VERIFY_CA, true);
        Connection c = s.connect()) {
      assertThat(backendUsesTls(c)).isTrue();
    }
  }

  @Test
  void withoutTheRootCertificateTheJdksRootsDoNotTrustTheTestCa() {
    try (TestSluice s = sluice("localhost", SslMode.VERIFY_FULL, false)) {
      assertThatThrownBy(s::connect)
          .isInstanceOf(PSQLException.class)
          .satisfies(e -> assertThat(((PSQLException) e).getSQLState()).isEqualTo("08001"))
          .hasMessageContaining("TLS handshake");
    }
  }

  @Test
  void preferUsesTlsWhenTheServerOffersIt() throws SQLException {
    try (TestSluice s = sluice("127.0.0.1", SslMode.PREFER, false);
        Connection c = s.connect()) {
      assertThat(backendUsesTls(c)).isTrue();
    }
  }

  @Test
  void disableAndAllowStayPlainWhenTheServerAllowsIt() throws SQLException {
    for (SslMode mode : List.of(SslMode.DISABLE, SslMode.ALLOW)) {
      try (TestSluice s = sluice("127.0.0.1", mode, false);
          Connection c = s.connect()) {
        assertThat(backendUsesTls(c)).as("%s", mode).isFalse();
      }
    }
  }

  /**
   * A server (or someone in the middle) that answers SSLRequest with 'S' and more bytes at once:
   * those bytes would be read as if they had come over TLS (PostgreSQL's CVE-2021-23222). Sluice
   * refuses the connection; the client gets a clear error.
   */
  @Test
  void bytesAfterTheServersTlsAnswerAreRefused() throws Exception {
    try (ServerSocket fake = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      CompletableFuture<byte[]> request =
          CompletableFuture.supplyAsync(
              () -> {
                try (Socket s = fake.accept()) {
                  InputStream in = s.getInputStream();
                  byte[] sslRequest = in.readNBytes(8);
                  OutputStream out = s.getOutputStream();
                  // 'S', then an injected AuthenticationOk + ReadyForQuery in plain text
                  out.write(new byte[] {'S', 'R', 0, 0, 0, 8, 0, 0, 0, 0, 'Z', 0, 0, 0, 5, 'I'});
                  out.flush();
                  in.read(); // until Sluice hangs up
                  return sslRequest;
                } catch (java.io.IOException e) {
                  throw new java.io.UncheckedIOException(e);
                }
              });
      Upstream up =
          new Upstream(
              List.of(new HostAndPort("127.0.0.1", fake.getLocalPort())),
              pg.appDatabase(),
              pg.appUser(),
              pg.appPassword(),
              SslMode.REQUIRE,
              Map.of());
      try (TestSluice s =
          TestSluice.start(
              pg, b -> b.upstream(up).minIdle(0).connectTimeout(Duration.ofSeconds(5)))) {
        assertThatThrownBy(s::connect)
            .isInstanceOf(PSQLException.class)
            .hasMessageContaining("sent data after its answer to the TLS request");
      }
      byte[] sent = request.get(10, TimeUnit.SECONDS);
      assertThat(sent).containsExactly(0, 0, 0, 8, 4, (byte) 0xd2, 0x16, 0x2f);
    }
  }
}
