package dev.sluice.testing;

import io.netty.pkitesting.CertificateBuilder;
import io.netty.pkitesting.X509Bundle;
import java.time.Instant;
import java.time.temporal.ChronoUnit;

/**
 * A throwaway certificate authority for the test run, and certificates it issues: the test
 * PostgreSQL's server certificate (for {@code localhost} only, so that a connection by IP address
 * fails host-name verification) and anything a test needs besides.
 */
public final class TestCertificates {
  private static X509Bundle authority;

  private TestCertificates() {}

  /** The run's CA (created on first use). */
  public static synchronized X509Bundle authority() {
    if (authority == null) {
      authority = build(base().subject("CN=Sluice test CA").setIsCertificateAuthority(true), null);
    }
    return authority;
  }

  /** A server certificate for {@code dnsNames}, issued by {@link #authority()}. */
  public static X509Bundle server(String commonName, String... dnsNames) {
    CertificateBuilder b = base().subject("CN=" + commonName).addExtendedKeyUsageServerAuth();
    for (String n : dnsNames) {
      b.addSanDnsName(n);
    }
    return build(b, authority());
  }

  private static CertificateBuilder base() {
    Instant now = Instant.now();
    return new CertificateBuilder()
        .ecp256()
        .notBefore(now.minus(1, ChronoUnit.DAYS))
        .notAfter(now.plus(30, ChronoUnit.DAYS));
  }

  private static X509Bundle build(CertificateBuilder b, X509Bundle issuer) {
    try {
      return issuer == null ? b.buildSelfSigned() : b.buildIssuedBy(issuer);
    } catch (Exception e) {
      throw new IllegalStateException("cannot create a test certificate", e);
    }
  }
}
