package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.config.TlsMode;
import dev.sluice.testing.PostgresExtension;
import dev.sluice.testing.PostgresServer;
import dev.sluice.testing.ProcessResult;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.postgresql.util.PSQLException;

/**
 * SCRAM-SHA-256-PLUS ({@code tls-server-end-point} channel binding) to clients on TLS, with real
 * clients: pgjdbc's {@code channelBinding} and libpq's {@code channel_binding}. A client that
 * requires binding logs in only over TLS, since only there is -PLUS offered.
 */
@ExtendWith(PostgresExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ChannelBindingIT {
  private PostgresServer pg;
  private TlsFiles files;

  @BeforeAll
  void certificates(PostgresServer pg) throws Exception {
    this.pg = pg;
    this.files = TlsFiles.create();
  }

  private TestSluice sluice() {
    return TestSluice.start(pg, b -> files.apply(b, TlsMode.ALLOW));
  }

  private Connection jdbc(TestSluice s, String... kv) throws Exception {
    Properties p = new Properties();
    p.setProperty("user", pg.appUser());
    p.setProperty("password", pg.appPassword());
    p.setProperty("connectTimeout", "10");
    for (int i = 0; i < kv.length; i += 2) {
      p.setProperty(kv[i], kv[i + 1]);
    }
    return DriverManager.getConnection(
        "jdbc:postgresql://localhost:" + s.port() + "/" + pg.appDatabase(), p);
  }

  @Test
  void pgjdbcRequiringChannelBindingLogsInOverTls() throws Exception {
    try (TestSluice s = sluice();
        Connection c =
            jdbc(
                s,
                "sslmode",
                "verify-full",
                "sslrootcert",
                files.root().toString(),
                "channelBinding",
                "require");
        ResultSet rs = c.createStatement().executeQuery("SELECT 'bound'")) {
      rs.next();
      assertThat(rs.getString(1)).isEqualTo("bound");
    }
  }

  @Test
  void pgjdbcRequiringChannelBindingIsRefusedWithoutTls() {
    try (TestSluice s = sluice()) {
      assertThatThrownBy(() -> jdbc(s, "sslmode", "disable", "channelBinding", "require").close())
          .isInstanceOf(PSQLException.class)
          .hasMessageContaining("hannel");
    }
  }

  @Test
  void pgjdbcWithAWrongPasswordOverTlsWithBindingGets28P01() {
    try (TestSluice s = sluice()) {
      assertThatThrownBy(
              () ->
                  DriverManager.getConnection(
                          "jdbc:postgresql://localhost:"
                              + s.port()
                              + "/"
                              + pg.appDatabase()
                              + "?sslmode=verify-full&channelBinding=require&sslrootcert="
                              + files.root(),
                          pg.appUser(),
                          "not the password")
                      .close())
          .isInstanceOf(PSQLException.class)
          .satisfies(e -> assertThat(((PSQLException) e).getSQLState()).isEqualTo("28P01"));
    }
  }

  @Test
  void psqlRequiringChannelBindingLogsInOverTls() {
    try (TestSluice s = sluice()) {
      ProcessResult r = psql(s, "require", "require");
      assertThat(r.succeeded()).as(r.toString()).isTrue();
      assertThat(r.stdout()).contains("SSL connection").contains("7");
    }
  }

  @Test
  void psqlRequiringChannelBindingWithoutTlsIsRefused() {
    try (TestSluice s = sluice()) {
      ProcessResult r = psql(s, "disable", "require");
      assertThat(r.succeeded()).as(r.toString()).isFalse();
      assertThat(r.stderr()).contains("channel binding");
    }
  }

  /** The self-signed development certificate binds too (ECDSA with SHA-256). */
  @Test
  void theDevelopmentCertificateSupportsChannelBinding() throws Exception {
    try (TestSluice s =
            TestSluice.start(
                pg,
                b -> b.tlsMode(TlsMode.ALLOW).tlsCert(dev.sluice.config.ProxyConfig.SELF_SIGNED));
        Connection c = jdbc(s, "sslmode", "require", "channelBinding", "require")) {
      assertThat(c.isValid(5)).isTrue();
    }
  }

  private ProcessResult psql(TestSluice s, String sslmode, String channelBinding) {
    Map<String, String> env = new HashMap<>(s.libpqEnv());
    env.put("PGSSLMODE", sslmode);
    env.put("PGCHANNELBINDING", channelBinding);
    return pg.run(
        List.of("psql", "-X", "-c", "\\conninfo", "-c", "SELECT 7"), env, Duration.ofSeconds(30));
  }
}
