package dev.sluice.auth;

import dev.sluice.error.SluiceException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
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
 * <p>Channel binding ({@code SCRAM-SHA-256-PLUS}, RFC 5929's {@code tls-server-end-point}) is
 * offered only to a client connected over TLS, given the hash of Sluice's own certificate ({@link
 * TlsServerEndPoint}); the client hashes the certificate it received, so a man in the middle who
 * terminates TLS with a certificate of his own cannot pass the check. As in PostgreSQL's {@code
 * auth-scram.c}, the gs2 flag must agree with the mechanism the client picked:
 *
 * <ul>
 *   <li>{@code p=tls-server-end-point}: only with {@code -PLUS}; the final message's {@code c=}
 *       must be the gs2 header followed by the certificate hash, else "SCRAM channel binding check
 *       failed" (08P01).
 *   <li>{@code y} (the client could bind but believes the server cannot): accepted without TLS;
 *       over TLS, where {@code -PLUS} was offered, someone stripped the offer in flight: refused.
 *   <li>{@code n} (the client will not bind): only with plain {@code SCRAM-SHA-256}.
 * </ul>
 *
 * <p>The {@code n=} user name is ignored, as PostgreSQL ignores it: the user is the one named in
 * the startup packet. Every error is FATAL: a malformed or out-of-order message is a protocol
 * violation (08P01), a wrong proof an {@link AuthenticationFailedException} (28P01). After any
 * error the exchange is over and further messages are refused.
 */
public final class ScramServerExchange {
  public static final String MECHANISM = "SCRAM-SHA-256";

  /** SCRAM-SHA-256 with channel binding, offered over TLS. */
  public static final String MECHANISM_PLUS = "SCRAM-SHA-256-PLUS";

  /** The one channel binding type PostgreSQL (and so every client) uses. */
  public static final String BINDING_TYPE = "tls-server-end-point";

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

  /** The hash of Sluice's certificate when the client is on TLS and -PLUS is offered, else null. */
  private final byte[] channelBinding;

  private boolean plus;
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
    this(user, credentials, forceFail, ScramCrypto.nonce(random), null);
  }

  /**
   * For a client connected over TLS, which is offered {@code -PLUS} as well.
   *
   * @param channelBinding the {@link TlsServerEndPoint} hash of the certificate this client was
   *     shown; null when the client is not on TLS (or the certificate allows no binding)
   */
  public ScramServerExchange(
      String user,
      ScramCredentials credentials,
      boolean forceFail,
      SecureRandom random,
      byte[] channelBinding) {
    this(user, credentials, forceFail, ScramCrypto.nonce(random), channelBinding);
  }

  /** With a fixed server part of the nonce, for test vectors. */
  ScramServerExchange(
      String user, ScramCredentials credentials, boolean forceFail, String serverNonce) {
    this(user, credentials, forceFail, serverNonce, null);
  }

  private ScramServerExchange(
      String user,
      ScramCredentials credentials,
      boolean forceFail,
      String serverNonce,
      byte[] channelBinding) {
    this.channelBinding = channelBinding == null ? null : channelBinding.clone();
    this.user = Objects.requireNonNull(user, "user");
    this.salt = credentials.salt();
    this.iterations = credentials.iterations();
    this.storedKey = credentials.storedKey();
    this.serverKey = credentials.serverKey();
    this.forceFail = forceFail;
    this.serverNonce = serverNonce;
  }

  /** The mechanisms for AuthenticationSASL, in PostgreSQL's order: -PLUS first when offered. */
  public List<String> mechanisms() {
    return channelBinding == null ? List.of(MECHANISM) : List.of(MECHANISM_PLUS, MECHANISM);
  }

  /** Answers a client-first-message for plain {@link #MECHANISM}. */
  public byte[] serverFirst(byte[] clientFirstMessage) {
    return serverFirst(MECHANISM, clientFirstMessage);
  }

  /**
   * Answers the client-first-message with the server-first-message.
   *
   * @param mechanism the mechanism the SASLInitialResponse named; one of {@link #mechanisms()}
   */
  public byte[] serverFirst(String mechanism, byte[] clientFirstMessage) {
    enter(State.AWAITING_CLIENT_FIRST, "client-first-message");
    if (!mechanisms().contains(mechanism)) {
      throw SluiceException.protocolViolation(
          "client selected an invalid SASL authentication mechanism");
    }
    plus = mechanism.equals(MECHANISM_PLUS);
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
    // c= repeats the gs2 header (and with -PLUS the hash of the certificate the client saw); a
    // mismatch means someone changed the first message in flight, or stands between us on TLS.
    if (!MessageDigest.isEqual(m.readBase64('c'), expectedBinding())) {
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

  /** gs2 header, then with -PLUS the binding data: what c= must carry (RFC 5802, 5929). */
  private byte[] expectedBinding() {
    byte[] header = ScramMessage.bytes(gs2Header);
    if (!plus) {
      return header;
    }
    byte[] out = Arrays.copyOf(header, header.length + channelBinding.length);
    System.arraycopy(channelBinding, 0, out, header.length, channelBinding.length);
    return out;
  }

  /** ClientKey = proof XOR HMAC(StoredKey, AuthMessage); it must hash to StoredKey. */
  private boolean verifyProof(byte[] proof, byte[] authMessage) {
    byte[] clientSignature = ScramCrypto.hmac(storedKey, authMessage);
    byte[] clientKey = ScramCrypto.xor(proof, clientSignature);
    return MessageDigest.isEqual(ScramCrypto.sha256(clientKey), storedKey);
  }

  /**
   * Reads {@code n,,}, {@code y,,} or {@code p=tls-server-end-point,,}: the flag, an empty authzid,
   * and the commas. The flag must fit the mechanism, as in PostgreSQL's {@code
   * read_client_first_message}.
   */
  private String readGs2Header(ScramMessage m) {
    if (m.startsWith('p')) {
      if (!plus) {
        throw m.malformed(
            "the client selected "
                + MECHANISM
                + " without channel binding, but the message includes channel binding data");
      }
      String type = m.read('p');
      if (!type.equals(BINDING_TYPE)) {
        throw SluiceException.protocolViolation(
            "unsupported SCRAM channel-binding type \"" + type + "\"");
      }
    } else if (plus) {
      throw m.malformed(
          "the client selected "
              + MECHANISM_PLUS
              + ", but the message does not include channel binding data");
    } else if (m.skip("y,")) {
      // The client could bind but saw no -PLUS offered. Without TLS that is true; over TLS
      // Sluice offered -PLUS, so the offer was stripped in flight (a downgrade attack).
      if (channelBinding != null) {
        throw SluiceException.protocolViolation(
            "SCRAM channel binding negotiation error: the client supports SCRAM channel binding"
                + " but thinks the server does not; however, this server does support it");
      }
    } else if (!m.skip("n,")) {
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
