package dev.sluice.server;

import dev.sluice.auth.AuthenticationFailedException;
import dev.sluice.auth.Md5Password;
import dev.sluice.auth.ScramCredentials;
import dev.sluice.auth.ScramServerExchange;
import dev.sluice.config.ClientAuth;
import dev.sluice.error.SluiceException;
import dev.sluice.error.SqlState;
import dev.sluice.protocol.backend.Authentication;
import dev.sluice.protocol.frontend.PasswordMessage;
import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;

/**
 * One client's authentication to Sluice (the Hyperdrive model: the client must present the upstream
 * role and its password). SCRAM keys were derived once at start, so a login costs two HMACs and a
 * hash, not 4096 PBKDF2 rounds. A login as any other role runs the same exchange against mock
 * credentials and fails the same way, so probing cannot tell roles apart.
 *
 * <pre>
 *   scram-sha-256: → AuthenticationSASL ← SASLInitialResponse → AuthenticationSASLContinue
 *                  ← SASLResponse → AuthenticationSASLFinal (then Ok)
 *                  over TLS SCRAM-SHA-256-PLUS is offered too (channel binding)
 *   md5:           → AuthenticationMD5Password(salt) ← PasswordMessage("md5...")
 *   password:      → AuthenticationCleartextPassword ← PasswordMessage(password)
 * </pre>
 */
final class ClientLogin {

  /** What the login needs from the server: the role, its password and pre-derived keys. */
  record Secrets(String user, String password, ScramCredentials scram, byte[] mockSecret) {}

  private static final SecureRandom RANDOM = new SecureRandom();

  private final ClientAuth method;
  private final Secrets secrets;
  private final String user;
  private final boolean knownUser;
  private final byte[] channelBinding;
  private ScramServerExchange scram;
  private byte[] md5Salt;
  private int step;

  /**
   * @param channelBinding the {@code tls-server-end-point} hash of the certificate a client on TLS
   *     was shown, so that SCRAM-SHA-256-PLUS is offered; null for a client in plain text
   */
  ClientLogin(ClientAuth method, Secrets secrets, String user, byte[] channelBinding) {
    this.method = method;
    this.channelBinding = channelBinding;
    this.secrets = secrets;
    this.user = user;
    this.knownUser = secrets.user().equals(user);
  }

  /** Writes the first authentication request. */
  void begin(ByteBuf out) {
    switch (method) {
      case SCRAM_SHA_256 -> {
        ScramCredentials creds =
            knownUser ? secrets.scram() : ScramCredentials.mock(user, secrets.mockSecret());
        scram = new ScramServerExchange(user, creds, !knownUser, RANDOM, channelBinding);
        Authentication.encodeSasl(out, scram.mechanisms());
      }
      case MD5 -> {
        md5Salt = new byte[4];
        RANDOM.nextBytes(md5Salt);
        Authentication.encodeMd5Password(out, md5Salt);
      }
      case PASSWORD -> Authentication.encodeCleartextPassword(out);
    }
  }

  /**
   * Handles one 'p' message body, writing the reply into {@code out}.
   *
   * @return true when the client is authenticated
   * @throws SluiceException 28P01 for a wrong password, 08P01 for a malformed exchange
   */
  boolean onMessage(ByteBuf body, ByteBuf out) {
    return switch (method) {
      case SCRAM_SHA_256 -> onScram(body, out);
      case MD5 -> check(Md5Password.verify(secrets.user(), secrets.password(), md5Salt, pw(body)));
      case PASSWORD -> check(constantTimeEquals(secrets.password(), pw(body)));
    };
  }

  private boolean onScram(ByteBuf body, ByteBuf out) {
    if (step++ == 0) {
      PasswordMessage.SaslInitial first = PasswordMessage.decodeSaslInitial(body);
      Authentication.encodeSaslContinue(out, scram.serverFirst(first.mechanism(), first.data()));
      return false;
    }
    Authentication.encodeSaslFinal(
        out, scram.serverFinal(PasswordMessage.decodeSaslResponse(body)));
    return true;
  }

  private static String pw(ByteBuf body) {
    return PasswordMessage.decodePassword(body);
  }

  private boolean check(boolean ok) {
    if (!ok || !knownUser) {
      throw new AuthenticationFailedException(user);
    }
    return true;
  }

  private static boolean constantTimeEquals(String expected, String given) {
    return MessageDigest.isEqual(
        expected.getBytes(StandardCharsets.UTF_8), given.getBytes(StandardCharsets.UTF_8));
  }

  /** Only the method: never the password. */
  @Override
  public String toString() {
    return "ClientLogin[" + method.flagValue() + ", " + user + "]";
  }

  static SluiceException unexpected(byte type) {
    return SluiceException.fatal(
        SqlState.PROTOCOL_VIOLATION,
        "expected a password response during authentication, got message type '"
            + (char) type
            + "'");
  }
}
