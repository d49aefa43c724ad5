package dev.sluice.server;

import dev.sluice.auth.Md5Password;
import dev.sluice.auth.ScramClient;
import dev.sluice.auth.ScramKeyCache;
import dev.sluice.error.SluiceException;
import dev.sluice.error.SqlState;
import dev.sluice.protocol.backend.Authentication;
import dev.sluice.protocol.frontend.PasswordMessage;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import java.security.SecureRandom;

/**
 * Sluice's side of one backend's authentication exchange, whichever method the server asks for:
 * SCRAM-SHA-256 (keys derived once per pool), MD5 or cleartext. Each step writes its answer to the
 * channel; a method Sluice cannot do, or a password the upstream URL lacks, is a clear error.
 */
final class BackendAuth {
  private static final SecureRandom RANDOM = new SecureRandom();

  private final Channel channel;
  private final String user;
  private final String password;
  private final ScramKeyCache scramKeys;
  private ScramClient scram;
  private boolean asked;
  private boolean scramVerified;
  private boolean ok;

  BackendAuth(Channel channel, String user, String password, ScramKeyCache scramKeys) {
    this.channel = channel;
    this.user = user;
    this.password = password;
    this.scramKeys = scramKeys;
  }

  /** Whether the server said AuthenticationOk, after any exchange it began had finished. */
  boolean ok() {
    return ok;
  }

  /**
   * One Authentication request from the server. A server asks once, and says Ok once, after the
   * exchange it asked for is complete: a second request, or an Ok in the middle of a SCRAM exchange
   * (an impostor that would skip proving it knows the password), is a protocol violation.
   */
  void on(Authentication a) {
    if (ok) {
      throw SluiceException.protocolViolation("authentication request after AuthenticationOk");
    }
    if (a instanceof Authentication.Ok) {
      if (scram != null && !scramVerified) {
        throw SluiceException.protocolViolation(
            "AuthenticationOk before the SCRAM exchange finished");
      }
      ok = true;
      return;
    }
    if (a instanceof Authentication.SaslContinue || a instanceof Authentication.SaslFinal) {
      onSasl(a);
      return;
    }
    if (asked) {
      throw SluiceException.protocolViolation("a second authentication request from the upstream");
    }
    asked = true;
    if (a instanceof Authentication.CleartextPassword) {
      sendPassword(requirePassword());
    } else if (a instanceof Authentication.Md5Password md5) {
      sendPassword(Md5Password.hash(user, requirePassword(), md5.salt()));
    } else if (a instanceof Authentication.Sasl sasl) {
      if (!sasl.mechanisms().contains("SCRAM-SHA-256")) {
        throw SluiceException.fatal(
            SqlState.SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION,
            "the upstream server offers no SASL mechanism Sluice supports: " + sasl.mechanisms());
      }
      scram = new ScramClient(requirePassword(), scramKeys, RANDOM);
      ByteBuf out = channel.alloc().buffer(64);
      PasswordMessage.encodeSaslInitial(out, "SCRAM-SHA-256", scram.clientFirst());
      channel.writeAndFlush(out, channel.voidPromise());
    } else if (a instanceof Authentication.Unsupported u) {
      throw SluiceException.fatal(
          SqlState.SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION,
          "the upstream server asks for authentication method "
              + u.subtype()
              + ", which Sluice does not support (use scram-sha-256, md5 or password)");
    }
  }

  /** SASLContinue and SASLFinal: only inside the exchange; ScramClient checks their order. */
  private void onSasl(Authentication a) {
    if (a instanceof Authentication.SaslContinue c) {
      requireScram();
      // Read the server's message before taking a buffer: a malformed one throws.
      byte[] clientFinal = scram.clientFinal(c.data());
      ByteBuf out = channel.alloc().buffer(128);
      PasswordMessage.encodeSaslResponse(out, clientFinal);
      channel.writeAndFlush(out, channel.voidPromise());
    } else if (a instanceof Authentication.SaslFinal f) {
      requireScram();
      scram.verifyServerFinal(f.data());
      scramVerified = true;
    }
  }

  private void requireScram() {
    if (scram == null) {
      throw SluiceException.protocolViolation("SASL message from the upstream before SASL began");
    }
  }

  private String requirePassword() {
    if (password == null) {
      throw SluiceException.fatal(
          SqlState.SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION,
          "the upstream server asks for a password but the upstream URL has none");
    }
    return password;
  }

  private void sendPassword(String pw) {
    ByteBuf out = channel.alloc().buffer(64);
    PasswordMessage.encodePassword(out, pw);
    channel.writeAndFlush(out, channel.voidPromise());
  }
}
