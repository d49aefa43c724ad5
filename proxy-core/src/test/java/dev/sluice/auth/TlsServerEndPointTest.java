package dev.sluice.auth;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.testing.TestCertificates;
import java.security.MessageDigest;
import java.security.cert.X509Certificate;
import org.junit.jupiter.api.Test;

class TlsServerEndPointTest {

  /** RFC 5929 section 4.1: the signature's hash, but SHA-256 in place of MD5 and SHA-1. */
  @Test
  void theHashFollowsTheSignatureAlgorithm() {
    assertThat(TlsServerEndPoint.forSignature("SHA256withECDSA")).isEqualTo("SHA-256");
    assertThat(TlsServerEndPoint.forSignature("SHA384withECDSA")).isEqualTo("SHA-384");
    assertThat(TlsServerEndPoint.forSignature("SHA512withRSA")).isEqualTo("SHA-512");
    assertThat(TlsServerEndPoint.forSignature("SHA224withRSA")).isEqualTo("SHA-224");
    assertThat(TlsServerEndPoint.forSignature("SHA1withRSA")).isEqualTo("SHA-256");
    assertThat(TlsServerEndPoint.forSignature("MD5withRSA")).isEqualTo("SHA-256");
    assertThat(TlsServerEndPoint.forSignature("SHA3-256withECDSA")).isEqualTo("SHA3-256");
    assertThat(TlsServerEndPoint.forSignature("SHA-384")).isEqualTo("SHA-384"); // RSASSA-PSS
    assertThat(TlsServerEndPoint.forSignature("Ed25519")).isNull();
  }

  @Test
  void theBindingIsTheHashOfTheWholeDerCertificate() throws Exception {
    X509Certificate cert = TestCertificates.server("localhost", "localhost").getCertificate();
    assertThat(cert.getSigAlgName()).isEqualTo("SHA256withECDSA");
    assertThat(TlsServerEndPoint.of(cert))
        .isEqualTo(MessageDigest.getInstance("SHA-256").digest(cert.getEncoded()));
  }
}
