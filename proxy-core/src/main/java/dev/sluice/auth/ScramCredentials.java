package dev.sluice.auth;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Objects;

/**
 * The server-side SCRAM-SHA-256 secret of one user: salt, iteration count, StoredKey and ServerKey
 * (RFC 5802 section 3), the same four values PostgreSQL keeps in {@code pg_authid.rolpassword} as
 * {@code SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>}.
 *
 * <p>Derive it once, when the configuration is loaded: the derivation costs {@code iterations}
 * HMACs, while checking a login with it costs two. No password is kept. The keys cannot log in by
 * themselves, but with one observed exchange they can, and they let a holder pose as the server:
 * guard them like the password. Immutable; accessors return copies.
 */
public final class ScramCredentials {
  /** PostgreSQL's default ({@code scram_iterations}). */
  public static final int DEFAULT_ITERATIONS = 4096;

  /** PostgreSQL's salt length. */
  public static final int DEFAULT_SALT_LENGTH = 16;

  private static final int MIN_MOCK_SECRET_LENGTH = 16;
  private static final byte[] MOCK_SALT = "sluice mock salt ".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] MOCK_STORED =
      "sluice mock stored key ".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] MOCK_SERVER =
      "sluice mock server key ".getBytes(StandardCharsets.US_ASCII);

  private final byte[] salt;
  private final int iterations;
  private final byte[] storedKey;
  private final byte[] serverKey;

  private ScramCredentials(byte[] salt, int iterations, byte[] storedKey, byte[] serverKey) {
    this.salt = salt;
    this.iterations = iterations;
    this.storedKey = storedKey;
    this.serverKey = serverKey;
  }

  /** Derives the secret with a fresh random salt and PostgreSQL's default iteration count. */
  public static ScramCredentials derive(String password) {
    byte[] salt = new byte[DEFAULT_SALT_LENGTH];
    new SecureRandom().nextBytes(salt);
    return derive(password, salt, DEFAULT_ITERATIONS);
  }

  /**
   * Derives the secret of {@code password} (prepared with {@link SaslPrep}) for the given salt and
   * iteration count; equal inputs give the secret PostgreSQL stores for them.
   */
  public static ScramCredentials derive(String password, byte[] salt, int iterations) {
    Objects.requireNonNull(password, "password");
    if (password.isEmpty()) {
      throw new IllegalArgumentException("an empty password cannot be used for SCRAM");
    }
    if (salt.length == 0) {
      throw new IllegalArgumentException("SCRAM salt must not be empty");
    }
    if (iterations < 1) {
      throw new IllegalArgumentException("SCRAM iterations must be at least 1, got " + iterations);
    }
    ScramCrypto.Keys keys = ScramCrypto.deriveKeys(SaslPrep.prepare(password), salt, iterations);
    byte[] storedKey = ScramCrypto.sha256(keys.clientKey());
    Arrays.fill(keys.clientKey(), (byte) 0);
    return new ScramCredentials(salt.clone(), iterations, storedKey, keys.serverKey());
  }

  /**
   * Stands in for a user that does not exist, so that the login runs the whole exchange and then
   * fails like a wrong password instead of revealing which user names are valid (PostgreSQL's
   * {@code scram_mock_salt}). The result depends only on {@code username} and {@code mockSecret}:
   * asking twice for the same unknown user gives the same salt, as it would for a real one.
   *
   * <p>{@code mockSecret} should be random and live as long as the real credentials: if the real
   * salts change on restart but the mock ones did not, restarts would tell them apart. The keys are
   * unpredictable, so no proof can match them, but an exchange should still be told to fail.
   */
  public static ScramCredentials mock(String username, byte[] mockSecret) {
    Objects.requireNonNull(username, "username");
    if (mockSecret.length < MIN_MOCK_SECRET_LENGTH) {
      throw new IllegalArgumentException(
          "mock secret must have at least " + MIN_MOCK_SECRET_LENGTH + " bytes");
    }
    byte[] user = username.getBytes(StandardCharsets.UTF_8);
    byte[] salt = Arrays.copyOf(mockHmac(mockSecret, MOCK_SALT, user), DEFAULT_SALT_LENGTH);
    return new ScramCredentials(
        salt,
        DEFAULT_ITERATIONS,
        mockHmac(mockSecret, MOCK_STORED, user),
        mockHmac(mockSecret, MOCK_SERVER, user));
  }

  private static byte[] mockHmac(byte[] secret, byte[] label, byte[] user) {
    byte[] data = Arrays.copyOf(label, label.length + user.length);
    System.arraycopy(user, 0, data, label.length, user.length);
    return ScramCrypto.hmac(secret, data);
  }

  public byte[] salt() {
    return salt.clone();
  }

  public int iterations() {
    return iterations;
  }

  public byte[] storedKey() {
    return storedKey.clone();
  }

  public byte[] serverKey() {
    return serverKey.clone();
  }

  /** Shows the iteration count only: the salt is public, but the keys must never reach a log. */
  @Override
  public String toString() {
    return "ScramCredentials[SCRAM-SHA-256, iterations=" + iterations + ", keys=<hidden>]";
  }
}
