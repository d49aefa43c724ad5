package dev.sluice.auth;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Objects;

/**
 * PostgreSQL's {@code md5} password method. The server stores {@code "md5" + md5hex(password +
 * user)} and, after sending a random 4-byte salt in AuthenticationMD5Password, expects {@code "md5"
 * + md5hex(storedHexDigits + salt)} in the PasswordMessage. Sluice computes the same response to
 * log in to a backend, and checks a client's response against it.
 *
 * <p>User and password are taken as UTF-8, as PostgreSQL takes the bytes it receives. MD5 is weak:
 * prefer SCRAM-SHA-256 wherever both sides allow it.
 */
public final class Md5Password {
  private static final int SALT_LENGTH = 4;
  private static final HexFormat HEX = HexFormat.of(); // lower case, as PostgreSQL writes it

  private Md5Password() {}

  /** The PasswordMessage payload answering an AuthenticationMD5Password with {@code salt}. */
  public static String hash(String user, String password, byte[] salt) {
    Objects.requireNonNull(user, "user");
    Objects.requireNonNull(password, "password");
    if (salt.length != SALT_LENGTH) {
      throw new IllegalArgumentException("md5 salt must be 4 bytes, got " + salt.length);
    }
    String stored = md5Hex(concat(utf8(password), utf8(user)));
    return "md5" + md5Hex(concat(stored.getBytes(StandardCharsets.US_ASCII), salt));
  }

  /**
   * Whether a client's {@code response} to {@code salt} proves it knows {@code password}. The
   * comparison takes the same time wherever the first difference is.
   */
  public static boolean verify(String user, String password, byte[] salt, String response) {
    if (response == null) {
      return false;
    }
    byte[] expected = hash(user, password, salt).getBytes(StandardCharsets.UTF_8);
    return MessageDigest.isEqual(expected, response.getBytes(StandardCharsets.UTF_8));
  }

  private static String md5Hex(byte[] data) {
    try {
      return HEX.formatHex(MessageDigest.getInstance("MD5").digest(data));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("MD5 is required of every Java platform", e);
    }
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] out = new byte[a.length + b.length];
    System.arraycopy(a, 0, out, 0, a.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
