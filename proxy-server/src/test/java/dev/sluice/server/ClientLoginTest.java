package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.auth.ScramCredentials;
import dev.sluice.config.ClientAuth;
import dev.sluice.error.SluiceException;
import dev.sluice.protocol.backend.ErrorResponse;
import dev.sluice.protocol.frontend.PasswordMessage;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A client's SCRAM login over TLS at the message level: what goes on the wire when the channel
 * binding data is wrong (a man in the middle with a certificate of his own).
 */
class ClientLoginTest {
  private static final byte[] CERT_HASH = new byte[32];
  private static final ClientLogin.Secrets SECRETS =
      new ClientLogin.Secrets("app", "pw", ScramCredentials.derive("pw"), new byte[32]);

  private final ByteBuf out = Unpooled.buffer();

  @AfterEach
  void release() {
    out.release();
  }

  @Test
  void overTlsPlusIsOfferedFirst() {
    new ClientLogin(ClientAuth.SCRAM_SHA_256, SECRETS, "app", CERT_HASH).begin(out);
    assertThat(text(out)).contains("SCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0\0");
  }

  @Test
  void inPlainTextOnlyScramIsOffered() {
    new ClientLogin(ClientAuth.SCRAM_SHA_256, SECRETS, "app", null).begin(out);
    assertThat(text(out)).contains("SCRAM-SHA-256\0\0").doesNotContain("PLUS");
  }

  @Test
  void wrongBindingDataEndsTheLoginWithA08P01ErrorResponse() {
    ClientLogin login = new ClientLogin(ClientAuth.SCRAM_SHA_256, SECRETS, "app", CERT_HASH);
    login.begin(out);
    String header = "p=tls-server-end-point,,";
    ByteBuf first = Unpooled.buffer();
    PasswordMessage.encodeSaslInitial(first, "SCRAM-SHA-256-PLUS", bytes(header + "n=,r=abc"));
    ByteBuf firstBody = first.skipBytes(5); // type and length
    login.onMessage(firstBody, out);
    first.release();
    String serverFirst = text(out);
    String nonce = serverFirst.substring(serverFirst.indexOf("r=") + 2, serverFirst.indexOf(",s="));

    byte[] otherHash = Arrays.copyOf(CERT_HASH, 32);
    otherHash[0] = 1;
    byte[] cbind = Arrays.copyOf(bytes(header), header.length() + 32);
    System.arraycopy(otherHash, 0, cbind, header.length(), 32);
    String proof = Base64.getEncoder().encodeToString(new byte[32]);
    ByteBuf fin =
        Unpooled.wrappedBuffer(
            bytes(
                "c=" + Base64.getEncoder().encodeToString(cbind) + ",r=" + nonce + ",p=" + proof));
    assertThatThrownBy(() -> login.onMessage(fin, out))
        .isInstanceOf(SluiceException.class)
        .satisfies(
            e -> {
              ErrorResponse error = ((SluiceException) e).toErrorResponse();
              assertThat(error.sqlState()).isEqualTo("08P01");
              assertThat(error.fields().get(ErrorResponse.SEVERITY)).isEqualTo("FATAL");
              assertThat(error.fields().get(ErrorResponse.MESSAGE))
                  .isEqualTo("SCRAM channel binding check failed");
            });
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static String text(ByteBuf b) {
    String s = b.toString(StandardCharsets.ISO_8859_1);
    b.clear();
    return s;
  }
}
