package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.config.ConfigException;
import dev.sluice.config.HostAndPort;
import dev.sluice.config.Upstream;
import dev.sluice.config.Upstream.SslMode;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.SslHandler;
import java.util.List;
import java.util.Map;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLParameters;
import org.junit.jupiter.api.Test;

/** libpq's sslmode, as Sluice's backend TLS engines are set up for each. */
class BackendTlsTest {
  private static BackendTls tls(SslMode mode, Map<String, String> params) {
    return BackendTls.of(
        new Upstream(
            List.of(new HostAndPort("db.example.com", 5432)), "db", "app", "pw", mode, params));
  }

  private static SSLParameters engineFor(BackendTls tls, String host) {
    SslHandler h = tls.newHandler(ByteBufAllocator.DEFAULT, host, 5432);
    try {
      return h.engine().getSSLParameters();
    } finally {
      h.engine().closeOutbound();
    }
  }

  @Test
  void sniCarriesTheHostNameButNeverAnAddress() {
    BackendTls t = tls(SslMode.REQUIRE, Map.of());
    assertThat(engineFor(t, "db.example.com").getServerNames())
        .containsExactly(new SNIHostName("db.example.com"));
    assertThat(engineFor(t, "10.0.0.7").getServerNames()).isNullOrEmpty();
  }

  @Test
  void onlyVerifyFullChecksTheHostName() {
    assertThat(
            engineFor(tls(SslMode.VERIFY_FULL, Map.of()), "db.example.com")
                .getEndpointIdentificationAlgorithm())
        .isEqualTo("HTTPS");
    for (SslMode m : List.of(SslMode.REQUIRE, SslMode.VERIFY_CA, SslMode.PREFER)) {
      assertThat(engineFor(tls(m, Map.of()), "db.example.com").getEndpointIdentificationAlgorithm())
          .as("%s", m)
          .isNull();
    }
  }

  @Test
  void theModesSayWhenToAskAndWhatToAccept() {
    assertThat(tls(SslMode.PREFER, Map.of()).tryTlsFirst()).isTrue();
    assertThat(tls(SslMode.PREFER, Map.of()).plainAllowed()).isTrue();
    assertThat(tls(SslMode.ALLOW, Map.of()).tryTlsFirst()).isFalse();
    assertThat(tls(SslMode.REQUIRE, Map.of()).plainAllowed()).isFalse();
    assertThat(tls(SslMode.REQUIRE, Map.of()).verifiesChain()).isFalse();
    assertThat(tls(SslMode.VERIFY_CA, Map.of()).verifiesChain()).isTrue();
  }

  @Test
  void anUnreadableRootCertificateStopsTheStart() {
    assertThatThrownBy(() -> tls(SslMode.VERIFY_FULL, Map.of("sslrootcert", "/no/such/root.crt")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("sslrootcert=/no/such/root.crt");
  }
}
