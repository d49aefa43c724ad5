package dev.sluice.auth;

import dev.sluice.error.SluiceException;
import dev.sluice.error.SqlState;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Objects;

/**
 * Sluice's SCRAM-SHA-256 login to a PostgreSQL backend, the part libpq's {@code fe-auth-scram.c}
 * plays. Not thread-safe: one instance per backend login, used once.
 *
 * <pre>{@code
 * Sluice                                          backend
 *                                            <--  AuthenticationSASL(SCRAM-SHA-256)
 *   clientFirst():  n,,n=,r=cnonce           -->
 *                                            <--  AuthenticationSASLContinue(r=..,s=..,i=..)
 *   clientFinal():  c=biws,r=..,p=proof      -->
 *                                            <--  AuthenticationSASLFinal(v=signature)
 *   verifyServerFinal(): the backend has proved it knows the password too
 * }</pre>
 *
 * <p>Like libpq, the user name is left empty ({@code n=}): the server takes it from the startup
 * packet. Channel binding is not used ({@code n,,}) because backend connections have no TLS yet.
 * The costly key derivation goes through a {@link ScramKeyCache}, so only the first login for a
 * given salt and iteration count pays for it; on an event loop, that first login is the one that
 * blocks for a few milliseconds.
 */
public final class ScramClient {
  /** The most iterations Sluice derives keys for; a higher count from a backend is refused. */
  public static final int MAX_ITERATIONS = 1_000_000;

  private static final String GS2_HEADER = "n,,";
  private static final String CHANNEL_BINDING =
      Base64.getEncoder().encodeToString(ScramMessage.bytes(GS2_HEADER));

  private enum State {
    INITIAL,
    AWAITING_SERVER_FIRST,
    AWAITING_SERVER_FINAL,
    FINISHED
  }

  private final String preparedPassword;
  private final ScramKeyCache cache;
  private final String clientNonce;
  private final String clientFirstBare;

  private State state = State.INITIAL;
  private byte[] expectedServerSignature;

  /**
   * @param password the backend password in clear
   * @param cache the key cache for this password (see {@link ScramKeyCache})
   */
  public ScramClient(String password, ScramKeyCache cache, SecureRandom random) {
    this(password, cache, "", ScramCrypto.nonce(random));
  }

  /** With a user name to send and a fixed nonce, for test vectors. */
  ScramClient(String password, ScramKeyCache cache, String username, String clientNonce) {
    Objects.requireNonNull(password, "password");
    if (password.isEmpty()) {
      throw new IllegalArgumentException("an empty password cannot be used for SCRAM");
    }
    this.preparedPassword = SaslPrep.prepare(password);
    this.cache = Objects.requireNonNull(cache, "cache");
    this.clientNonce = clientNonce;
    this.clientFirstBare = "n=" + saslName(username) + ",r=" + clientNonce;
  }

  /** The client-first-message, for SASLInitialResponse. */
  public byte[] clientFirst() {
    enter(State.INITIAL, "client-first-message");
    state = State.AWAITING_SERVER_FIRST;
    return ScramMessage.bytes(GS2_HEADER + clientFirstBare);
  }

  /** Reads the server-first-message and returns the client-final-message with the proof. */
  public byte[] clientFinal(byte[] serverFirstMessage) {
    enter(State.AWAITING_SERVER_FIRST, "server-first-message");
    ScramMessage m = ScramMessage.of(serverFirstMessage, "server-first-message");
    if (m.startsWith('m')) {
      throw SluiceException.protocolViolation("server requires an unsupported SCRAM extension");
    }
    String nonce = m.readNonce();
    // The server must append its own part to ours (RFC 5802); anything else may be a replay.
    if (nonce.length() <= clientNonce.length() || !nonce.startsWith(clientNonce)) {
      throw SluiceException.protocolViolation("SCRAM nonce mismatch in server-first-message");
    }
    byte[] salt = m.readBase64('s');
    if (salt.length == 0) {
      throw m.malformed("empty salt");
    }
    int iterations = iterations(m, m.read('i'));
    m.expectEnd(); // as libpq: no extensions are defined

    ScramCrypto.Keys keys = cache.keys(preparedPassword, salt, iterations);
    String withoutProof = "c=" + CHANNEL_BINDING + ",r=" + nonce;
    byte[] authMessage = ScramMessage.bytes(clientFirstBare + "," + m.text() + "," + withoutProof);
    byte[] storedKey = ScramCrypto.sha256(keys.clientKey());
    byte[] proof = ScramCrypto.xor(keys.clientKey(), ScramCrypto.hmac(storedKey, authMessage));
    expectedServerSignature = ScramCrypto.hmac(keys.serverKey(), authMessage);
    state = State.AWAITING_SERVER_FINAL;
    return ScramMessage.bytes(withoutProof + ",p=" + Base64.getEncoder().encodeToString(proof));
  }

  /**
   * Checks the server-final-message: the backend must prove it knows the password too, or it may be
   * an impostor that merely accepts any proof.
   */
  public void verifyServerFinal(byte[] serverFinalMessage) {
    enter(State.AWAITING_SERVER_FINAL, "server-final-message");
    ScramMessage m = ScramMessage.of(serverFinalMessage, "server-final-message");
    if (m.startsWith('e')) {
      throw SluiceException.fatal(
          SqlState.INVALID_AUTHORIZATION_SPECIFICATION,
          "backend refused SCRAM authentication: " + m.read('e'));
    }
    byte[] signature = m.readBase64('v');
    m.expectEnd();
    if (!MessageDigest.isEqual(signature, expectedServerSignature)) {
      throw SluiceException.fatal(
          SqlState.INVALID_AUTHORIZATION_SPECIFICATION,
          "server signature mismatch: the backend did not prove that it knows the password");
    }
  }

  private static int iterations(ScramMessage m, String value) {
    if (value.isEmpty()
        || value.length() > 18
        || !value.chars().allMatch(c -> c >= '0' && c <= '9')) {
      throw m.malformed("invalid iteration count");
    }
    long count = Long.parseLong(value);
    if (count < 1 || count > MAX_ITERATIONS) {
      throw SluiceException.protocolViolation(
          "SCRAM iteration count " + count + " is out of range 1.." + MAX_ITERATIONS);
    }
    return (int) count;
  }

  /** RFC 5802 saslname: UTF-8, with ',' and '=' escaped; one char per byte like every message. */
  private static String saslName(String username) {
    String escaped = username.replace("=", "=3D").replace(",", "=2C");
    return new String(escaped.getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1);
  }

  private void enter(State expected, String message) {
    State current = state;
    state = State.FINISHED;
    if (current != expected) {
      throw SluiceException.protocolViolation(
          "unexpected SCRAM " + message + " (exchange state " + current + ")");
    }
  }
}
