package dev.sluice.server;

import java.math.BigInteger;
import java.net.InetAddress;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A self-signed certificate made in memory at start, for development: {@code --tls-mode allow}
 * without {@code --tls-cert}. EC P-256 signed with SHA-256 (so channel binding hashes with
 * SHA-256), named {@code localhost}, 127.0.0.1, ::1 and the listen host. Nothing is written to
 * disk; each start makes a new one, so clients can encrypt ({@code sslmode=require}) but never
 * verify it.
 *
 * <p>Why BouncyCastle: the JDK has no public API that builds an X.509 certificate. Netty's {@code
 * SelfSignedCertificate} is no way around it: it uses BouncyCastle when present and otherwise falls
 * back to {@code sun.security.x509} (closed by the module system since Java 16) or to running the
 * {@code keytool} binary, and writes the key to a temporary file. Only BouncyCastle's lightweight
 * builder is used here; no JCA provider is registered, so key generation and signing stay with the
 * JDK's own providers.
 */
final class DevCertificate {
  static final Duration VALIDITY = Duration.ofDays(365);

  private final PrivateKey key;
  private final X509Certificate certificate;
  private final List<String> names;

  private DevCertificate(PrivateKey key, X509Certificate certificate, List<String> names) {
    this.key = key;
    this.certificate = certificate;
    this.names = names;
  }

  /** A fresh key and certificate for {@code localhost}, the loopback addresses and {@code host}. */
  static DevCertificate generate(String listenHost) {
    Set<String> names = new LinkedHashSet<>(List.of("localhost", "127.0.0.1", "::1"));
    if (listenHost != null && !isWildcard(listenHost)) {
      names.add(listenHost);
    }
    try {
      KeyPairGenerator gen = KeyPairGenerator.getInstance("EC");
      gen.initialize(new ECGenParameterSpec("secp256r1"), new SecureRandom());
      KeyPair pair = gen.generateKeyPair();
      var subject =
          new X500NameBuilder(BCStyle.INSTANCE)
              .addRDN(BCStyle.CN, "localhost")
              .addRDN(BCStyle.O, "Sluice development certificate")
              .build();
      Instant now = Instant.now();
      JcaX509v3CertificateBuilder b =
          new JcaX509v3CertificateBuilder(
              subject,
              new BigInteger(64, new SecureRandom()).add(BigInteger.ONE),
              Date.from(now.minus(Duration.ofHours(1))),
              Date.from(now.plus(VALIDITY)),
              subject,
              pair.getPublic());
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
      b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
      b.addExtension(
          Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth));
      b.addExtension(Extension.subjectAlternativeName, false, alternativeNames(names));
      X509Certificate cert =
          new JcaX509CertificateConverter()
              .getCertificate(
                  b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(pair.getPrivate())));
      return new DevCertificate(pair.getPrivate(), cert, List.copyOf(names));
    } catch (GeneralSecurityException | OperatorCreationException | CertIOException e) {
      throw new IllegalStateException("cannot make a self-signed certificate: " + e, e);
    }
  }

  private static GeneralNames alternativeNames(Set<String> names) {
    List<GeneralName> out = new ArrayList<>();
    for (String n : names) {
      out.add(new GeneralName(isIpLiteral(n) ? GeneralName.iPAddress : GeneralName.dNSName, n));
    }
    return new GeneralNames(out.toArray(GeneralName[]::new));
  }

  /** An IPv4 or IPv6 literal (never a name lookup: InetAddress is only asked about literals). */
  static boolean isIpLiteral(String host) {
    if (host.contains(":")) {
      return true;
    }
    return host.matches("\\d{1,3}(\\.\\d{1,3}){3}");
  }

  private static boolean isWildcard(String host) {
    if (!isIpLiteral(host)) {
      return host.isEmpty() || host.equals("*");
    }
    try {
      return InetAddress.getByName(host).isAnyLocalAddress();
    } catch (java.net.UnknownHostException e) {
      return false;
    }
  }

  PrivateKey key() {
    return key;
  }

  X509Certificate certificate() {
    return certificate;
  }

  /** The names and addresses the certificate is valid for. */
  List<String> names() {
    return names;
  }
}
