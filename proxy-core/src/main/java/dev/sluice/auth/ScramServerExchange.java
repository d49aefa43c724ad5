package dev.sluice.auth;

import dev.sluice.error.SluiceException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import java.util.Objects;

/**
 * One client's SCRAM-SHA-256 login to Sluice (RFC 5802, RFC 7677), the part PostgreSQL's {@code
 * auth-scram.c} plays on the server. Not thread-safe: one instance per connection, used once.
 *
 * <pre>{@code
 * client                                   Sluice
 *   SASLInitialResponse(SCRAM-SHA-256,
 *     n,,n=,r=cnonce)                 -->  serverFirst()
 *                                     <--  AuthenticationSASLContinue(r=cnonce+snonce,s=..,i=..)
 *   SASLResponse(c=biws,r=..,p=proof) -->  serverFinal(): proof checked against StoredKey
 *                                     <--  AuthenticationSASLFinal(v=signature)
 *                                     <--  AuthenticationOk (the caller's business)
 * }</pre>
 *
 * <p>Channel binding is not offered (Sluice takes no TLS from clients yet), so a client asking for
 * it ({@code p=}) is refused and one that could bind but saw no {@code SCRAM-SHA-256-PLUS} ({@code
 * y}) is accepted. The {@code n=} user name is ignored, as PostgreSQL ignores it: the user is the
 * one named in the startup packet. Every error is FATAL: a malformed or out-of-order message is a
 * protocol violation (08P01), a wrong proof an {@link AuthenticationFailedException} (28P01). After
 * any error the exchange is over and further messages are refused.
 */
public final class ScramServerExchange {
  public static final String MECHANISM = "SCRAM-SHA-256";

  private enum State {
    AWAITING_CLIENT_FIRST,
    AWAITING_CLIENT_FINAL,
    FINISHED
  }

  private final String user;
  private final byte[] salt;
  private final int iterations;
  private final byte[] storedKey;
  private final byte[] serverKey;
  private final boolean forceFail;
  private final String serverNonce;

  private State state = State.AWAITING_CLIENT_FIRST;
  private String gs2Header;
  private String clientFirstBare;
  private String serverFirstMessage;
  private String nonce;

  /**
   * @param user the user from the startup packet, for the failure message
   * @param credentials the user's secret, or {@link ScramCredentials#mock} for an unknown user
   * @param forceFail run the exchange normally but fail at the end (true for mock credentials)
   */
  public ScramServerExchange(
      String user, ScramCredentials credentials, boolean forceFail, SecureRandom random) {
    this(user, credentials, forceFail, ScramCrypto.nonce(random));
  }

  /** With a fixed server part of the nonce, for test vectors. */
  ScramServerExchange(
      String user, ScramCredentials credentials, boolean forceFail, String serverNonce) {
    this.user = Objects.requireNonNull(user, "user");
    this.salt = credentials.salt();
    this.iterations = credentials.iterations();
    this.storedKey = credentials.storedKey();
    this.serverKey = credentials.serverKey();
    this.forceFail = forceFail;
    this.serverNonce = serverNonce;
  }

  /** Answers the client-first-message with the server-first-message. */
  public byte[] serverFirst(byte[] clientFirstMessage) {
    enter(State.AWAITING_CLIENT_FIRST, "client-first-message");
    ScramMessage m = ScramMessage.of(clientFirstMessage, "client-first-message");
    gs2Header = readGs2Header(m);
    clientFirstBare = m.rest();
    if (m.startsWith('m')) {
      throw SluiceException.protocolViolation("client requires an unsupported SCRAM extension");
    }
    m.read('n'); // ignored, see the class comment
    nonce = m.readNonce() + serverNonce;
    while (!m.atEnd()) {
      m.read(m.peekName()); // optional extensions: ignored, as PostgreSQL does
    }
    serverFirstMessage =
        "r=" + nonce + ",s=" + Base64.getEncoder().encodeToString(salt) + ",i=" + iterations;
    state = State.AWAITING_CLIENT_FINAL;
    return ScramMessage.bytes(serverFirstMessage);
  }

  /**
   * Checks the client-final-message and, if the proof is right, returns the server-final-message.
   *
   * @throws AuthenticationFailedException if the proof is wrong or the exchange was told to fail
   */
  public byte[] serverFinal(byte[] clientFinalMessage) {
    enter(State.AWAITING_CLIENT_FINAL, "client-final-message");
    ScramMessage m = ScramMessage.of(clientFinalMessage, "client-final-message");
    // c= repeats the gs2 header; a mismatch means someone changed the first message in flight.
    if (!Arrays.equals(m.readBase64('c'), ScramMessage.bytes(gs2Header))) {
      throw SluiceException.protocolViolation("SCRAM channel binding check failed");
    }
    if (!m.read('r').equals(nonce)) {
      throw SluiceException.protocolViolation("SCRAM nonce mismatch in client-final-message");
    }
    while (!m.atEnd() && !m.startsWith('p')) {
      m.read(m.peekName()); // extensions before the proof: ignored
    }
    if (m.atEnd()) {
      throw m.malformed("proof missing");
    }
    int proofStart = m.position();
    byte[] proof = m.readBase64('p');
    m.expectEnd();
    if (proof.length != ScramCrypto.KEY_LENGTH) {
      throw m.malformed("proof of the wrong length");
    }
    String withoutProof = m.substring(0, proofStart - 1); // up to the comma before p=
    byte[] authMessage =
        ScramMessage.bytes(clientFirstBare + "," + serverFirstMessage + "," + withoutProof);
    if (!verifyProof(proof, authMessage) | forceFail) {
      throw new AuthenticationFailedException(user);
    }
    return ScramMessage.bytes(
        "v=" + Base64.getEncoder().encodeToString(ScramCrypto.hmac(serverKey, authMessage)));
  }

  /** ClientKey = proof XOR HMAC(StoredKey, AuthMessage); it must hash to StoredKey. */
  private boolean verifyProof(byte[] proof, byte[] authMessage) {
    byte[] clientSignature = ScramCrypto.hmac(storedKey, authMessage);
    byte[] clientKey = ScramCrypto.xor(proof, clientSignature);
    return MessageDigest.isEqual(ScramCrypto.sha256(clientKey), storedKey);
  }

  /** Reads {@code n,,} or {@code y,,}: the flag, an empty authzid, and the commas. */
  private static String readGs2Header(ScramMessage m) {
    if (m.startsWith('p')) {
      throw SluiceException.protocolViolation(
          "SCRAM channel binding is not supported: Sluice offers only "
              + MECHANISM
              + ", not "
              + MECHANISM
              + "-PLUS");
    }
    // "y": the client could bind but saw no -PLUS offered. True here; once Sluice offers -PLUS
    // over TLS, "y" will mean that offer was stripped in flight, and must be refused.
    if (!m.skip("n,") && !m.skip("y,")) {
      throw m.malformed("channel binding flag expected");
    }
    if (m.startsWith('a')) {
      throw SluiceException.protocolViolation(
          "client uses SCRAM authorization identity, but it is not supported");
    }
    if (!m.skip(",")) {
      throw m.malformed("',' expected after the channel binding flag");
    }
    return m.substring(0, m.position());
  }

  /** Checks the order of messages; any failure after this ends the exchange. */
  private void enter(State expected, String message) {
    State current = state;
    state = State.FINISHED;
    if (current != expected) {
      throw SluiceException.protocolViolation(
          "unexpected SCRAM " + message + " (exchange state " + current + ")");
    }
  }
}
