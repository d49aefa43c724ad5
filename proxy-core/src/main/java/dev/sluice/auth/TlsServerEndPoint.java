package dev.sluice.auth;

import java.security.AlgorithmParameters;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.security.spec.PSSParameterSpec;
import java.util.Locale;

/**
 * The channel binding data of type {@code tls-server-end-point} (RFC 5929 section 4.1): the hash of
 * the server's DER-encoded certificate, with the hash function of the certificate's signature
 * algorithm, except that MD5 and SHA-1 are replaced by SHA-256. Both ends compute it, the server
 * from its own certificate and the client from the certificate it was shown; they agree only when
 * nobody in between presented a certificate of his own.
 */
public final class TlsServerEndPoint {
  private TlsServerEndPoint() {}

  /**
   * @return the binding data, or null when the certificate's signature algorithm names no single
   *     hash (Ed25519, Ed448): PostgreSQL offers no channel binding then, and neither does Sluice
   */
  public static byte[] of(X509Certificate certificate) {
    String hash = hashOf(certificate);
    if (hash == null) {
      return null;
    }
    try {
      return MessageDigest.getInstance(hash).digest(certificate.getEncoded());
    } catch (NoSuchAlgorithmException | CertificateEncodingException e) {
      return null;
    }
  }

  /** The JCA name of the hash RFC 5929 picks for this certificate; null if there is none. */
  static String hashOf(X509Certificate certificate) {
    String sigAlg = certificate.getSigAlgName().toUpperCase(Locale.ROOT);
    if (sigAlg.equals("RSASSA-PSS")) {
      return pssHash(certificate.getSigAlgParams());
    }
    return forSignature(sigAlg);
  }

  /** {@code SHA384withECDSA} → SHA-384; MD5 and SHA-1 become SHA-256 (RFC 5929). */
  static String forSignature(String sigAlgName) {
    String s = sigAlgName.toUpperCase(Locale.ROOT).replace("-", "");
    int with = s.indexOf("WITH");
    String digest = with < 0 ? s : s.substring(0, with);
    return switch (digest) {
      case "MD5", "SHA1", "SHA256" -> "SHA-256";
      case "SHA224" -> "SHA-224";
      case "SHA384" -> "SHA-384";
      case "SHA512" -> "SHA-512";
      case "SHA3224" -> "SHA3-224";
      case "SHA3256" -> "SHA3-256";
      case "SHA3384" -> "SHA3-384";
      case "SHA3512" -> "SHA3-512";
      default -> null;
    };
  }

  private static String pssHash(byte[] params) {
    if (params == null) {
      return null;
    }
    try {
      AlgorithmParameters p = AlgorithmParameters.getInstance("RSASSA-PSS");
      p.init(params);
      return forSignature(p.getParameterSpec(PSSParameterSpec.class).getDigestAlgorithm());
    } catch (GeneralSecurityException | java.io.IOException e) {
      return null;
    }
  }
}
