package dev.sluice.auth;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/** The SCRAM-SHA-256 functions of RFC 5802 section 2.2, with SHA-256 as the hash (RFC 7677). */
final class ScramCrypto {
  static final int KEY_LENGTH = 32;
  static final byte[] CLIENT_KEY = "Client Key".getBytes(StandardCharsets.US_ASCII);
  static final byte[] SERVER_KEY = "Server Key".getBytes(StandardCharsets.US_ASCII);

  private static final String HMAC = "HmacSHA256";
  private static final int NONCE_BYTES = 18; // as PostgreSQL and libpq

  private ScramCrypto() {}

  /** The ClientKey and ServerKey of a password; both are as good as the password for SCRAM. */
  record Keys(byte[] clientKey, byte[] serverKey) {}

  /**
   * Derives ClientKey and ServerKey: SaltedPassword = Hi(password, salt, i) over the UTF-8 bytes of
   * the already prepared password. Hi is PBKDF2 with HMAC-SHA-256 and one output block, computed
   * here by hand because {@code PBEKeySpec} takes characters, not the exact bytes.
   */
  static Keys deriveKeys(String preparedPassword, byte[] salt, int iterations) {
    byte[] password = preparedPassword.getBytes(StandardCharsets.UTF_8);
    byte[] salted = hi(password, salt, iterations);
    try {
      return new Keys(hmac(salted, CLIENT_KEY), hmac(salted, SERVER_KEY));
    } finally {
      Arrays.fill(password, (byte) 0);
      Arrays.fill(salted, (byte) 0);
    }
  }

  private static byte[] hi(byte[] password, byte[] salt, int iterations) {
    Mac mac = mac(password);
    mac.update(salt);
    byte[] u = mac.doFinal(new byte[] {0, 0, 0, 1}); // U1 = HMAC(str, salt + INT(1))
    byte[] result = u.clone();
    for (int i = 1; i < iterations; i++) {
      u = mac.doFinal(u);
      for (int j = 0; j < result.length; j++) {
        result[j] ^= u[j];
      }
    }
    return result;
  }

  /** A fresh nonce: random bytes in base64, printable and free of commas as RFC 5802 asks. */
  static String nonce(SecureRandom random) {
    byte[] raw = new byte[NONCE_BYTES];
    random.nextBytes(raw);
    return Base64.getEncoder().encodeToString(raw);
  }

  static byte[] hmac(byte[] key, byte[] data) {
    return mac(key).doFinal(data);
  }

  static byte[] sha256(byte[] data) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(data);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("SHA-256 is required of every Java platform", e);
    }
  }

  static byte[] xor(byte[] a, byte[] b) {
    byte[] out = new byte[a.length];
    for (int i = 0; i < a.length; i++) {
      out[i] = (byte) (a[i] ^ b[i]);
    }
    return out;
  }

  private static Mac mac(byte[] key) {
    try {
      Mac mac = Mac.getInstance(HMAC);
      mac.init(new SecretKeySpec(key, HMAC));
      return mac;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is required of every Java platform", e);
    }
  }
}
