package dev.sluice.auth;

import static dev.sluice.auth.ScramTesting.RANDOM;
import static dev.sluice.auth.ScramTesting.bytes;
import static dev.sluice.auth.ScramTesting.text;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.InstanceOfAssertFactories.type;

import dev.sluice.error.SluiceException;
import dev.sluice.error.SqlState;
import dev.sluice.protocol.Severity;
import java.util.Arrays;
import java.util.Base64;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Test;

/**
 * SCRAM-SHA-256-PLUS with {@code tls-server-end-point} (RFC 5929), as PostgreSQL's {@code
 * auth-scram.c} checks it: the mechanism, the gs2 flag and the binding data must agree.
 */
class ScramChannelBindingTest {
  private static final byte[] SALT = Base64.getDecoder().decode("QSXCR+Q6sek8bf92");
  private static final ScramCredentials ALICE = ScramCredentials.derive("s3cret", SALT, 4096);

  /** Stands for the hash of Sluice's certificate. */
  private static final byte[] CERT_HASH = new byte[32];

  static {
    Arrays.fill(CERT_HASH, (byte) 7);
  }

  private static final String PLUS_HEADER = "p=tls-server-end-point,,";

  /** A client on TLS: offered -PLUS and plain SCRAM. */
  private final ScramServerExchange overTls =
      new ScramServerExchange("alice", ALICE, false, RANDOM, CERT_HASH);

  /** A client in plain text. */
  private final ScramServerExchange plain = new ScramServerExchange("alice", ALICE, false, RANDOM);

  @Test
  void overTlsBothMechanismsAreOfferedPlusFirstAsPostgresDoes() {
    assertThat(overTls.mechanisms()).containsExactly("SCRAM-SHA-256-PLUS", "SCRAM-SHA-256");
    assertThat(plain.mechanisms()).containsExactly("SCRAM-SHA-256");
  }

  @Test
  void theRightCertificateHashLogsIn() {
    String serverFirst =
        text(overTls.serverFirst("SCRAM-SHA-256-PLUS", bytes(PLUS_HEADER + "n=,r=abc")));
    byte[] clientFinal = proofMessage(PLUS_HEADER, CERT_HASH, "n=,r=abc", serverFirst);
    assertThat(text(overTls.serverFinal(clientFinal))).startsWith("v=");
  }

  /** A man in the middle terminating TLS shows the client his own certificate: another hash. */
  @Test
  void anotherCertificatesHashIsRefusedAsABindingFailure() {
    String serverFirst =
        text(overTls.serverFirst("SCRAM-SHA-256-PLUS", bytes(PLUS_HEADER + "n=,r=abc")));
    byte[] otherHash = CERT_HASH.clone();
    otherHash[0] ^= 1;
    byte[] clientFinal = proofMessage(PLUS_HEADER, otherHash, "n=,r=abc", serverFirst);
    assertProtocolViolation(
        () -> overTls.serverFinal(clientFinal), "SCRAM channel binding check failed");
  }

  @Test
  void bindingDataWithoutTheHeaderIsRefused() {
    String serverFirst =
        text(overTls.serverFirst("SCRAM-SHA-256-PLUS", bytes(PLUS_HEADER + "n=,r=abc")));
    byte[] clientFinal = proofMessage("", CERT_HASH, "n=,r=abc", serverFirst);
    assertProtocolViolation(
        () -> overTls.serverFinal(clientFinal), "SCRAM channel binding check failed");
  }

  /** "y" over TLS: the client saw no -PLUS, though Sluice offered it: a downgrade in flight. */
  @Test
  void aClientThatThinksTheServerCannotBindIsRefusedOverTls() {
    assertProtocolViolation(
        () -> overTls.serverFirst("SCRAM-SHA-256", bytes("y,,n=,r=abc")),
        "channel binding negotiation error");
  }

  @Test
  void plainScramWithoutBindingStillWorksOverTls() {
    String serverFirst = text(overTls.serverFirst("SCRAM-SHA-256", bytes("n,,n=,r=abc")));
    byte[] clientFinal = proofMessage("n,,", new byte[0], "n=,r=abc", serverFirst);
    assertThat(text(overTls.serverFinal(clientFinal))).startsWith("v=");
  }

  @Test
  void plusIsNotAMechanismWithoutTls() {
    assertProtocolViolation(
        () -> plain.serverFirst("SCRAM-SHA-256-PLUS", bytes(PLUS_HEADER + "n=,r=abc")),
        "invalid SASL authentication mechanism");
  }

  @Test
  void unknownMechanismsAreRefused() {
    assertProtocolViolation(
        () -> overTls.serverFirst("SCRAM-SHA-1", bytes("n,,n=,r=abc")),
        "invalid SASL authentication mechanism");
  }

  @Test
  void bindingDataWithPlainScramIsRefused() {
    assertProtocolViolation(
        () -> overTls.serverFirst("SCRAM-SHA-256", bytes(PLUS_HEADER + "n=,r=abc")),
        "without channel binding");
  }

  @Test
  void plusWithoutBindingDataIsRefused() {
    assertProtocolViolation(
        () -> overTls.serverFirst("SCRAM-SHA-256-PLUS", bytes("n,,n=,r=abc")),
        "does not include channel binding data");
    ScramServerExchange fresh = new ScramServerExchange("alice", ALICE, false, RANDOM, CERT_HASH);
    assertProtocolViolation(
        () -> fresh.serverFirst("SCRAM-SHA-256-PLUS", bytes("y,,n=,r=abc")),
        "does not include channel binding data");
  }

  @Test
  void otherBindingTypesAreRefused() {
    assertProtocolViolation(
        () -> overTls.serverFirst("SCRAM-SHA-256-PLUS", bytes("p=tls-unique,,n=,r=abc")),
        "unsupported SCRAM channel-binding type \"tls-unique\"");
  }

  @Test
  void aWrongPasswordWithTheRightBindingIsStillA28P01() {
    String serverFirst =
        text(overTls.serverFirst("SCRAM-SHA-256-PLUS", bytes(PLUS_HEADER + "n=,r=abc")));
    byte[] clientFinal =
        proofMessage(PLUS_HEADER, CERT_HASH, "n=,r=abc", serverFirst, "not the password");
    assertThatThrownBy(() -> overTls.serverFinal(clientFinal))
        .isInstanceOf(AuthenticationFailedException.class)
        .asInstanceOf(type(SluiceException.class))
        .satisfies(e -> assertThat(e.state()).isEqualTo(SqlState.INVALID_PASSWORD));
  }

  private static byte[] proofMessage(
      String gs2Header, byte[] bindingData, String clientFirstBare, String serverFirst) {
    return proofMessage(gs2Header, bindingData, clientFirstBare, serverFirst, "s3cret");
  }

  /** A client-final-message as a binding client builds it: c = base64(gs2 header + data). */
  private static byte[] proofMessage(
      String gs2Header,
      byte[] bindingData,
      String clientFirstBare,
      String serverFirst,
      String password) {
    byte[] header = bytes(gs2Header);
    byte[] cbind = Arrays.copyOf(header, header.length + bindingData.length);
    System.arraycopy(bindingData, 0, cbind, header.length, bindingData.length);
    String nonce = serverFirst.substring(2, serverFirst.indexOf(','));
    String withoutProof = "c=" + Base64.getEncoder().encodeToString(cbind) + ",r=" + nonce;
    byte[] authMessage = bytes(clientFirstBare + "," + serverFirst + "," + withoutProof);
    ScramCrypto.Keys keys = ScramCrypto.deriveKeys(password, SALT, 4096);
    byte[] storedKey = ScramCrypto.sha256(keys.clientKey());
    byte[] proof = ScramCrypto.xor(keys.clientKey(), ScramCrypto.hmac(storedKey, authMessage));
    return bytes(withoutProof + ",p=" + Base64.getEncoder().encodeToString(proof));
  }

  private static void assertProtocolViolation(ThrowingCallable call, String text) {
    assertThatThrownBy(call)
        .isInstanceOf(SluiceException.class)
        .hasMessageContaining(text)
        .asInstanceOf(type(SluiceException.class))
        .satisfies(
            e -> {
              assertThat(e.state()).isEqualTo(SqlState.PROTOCOL_VIOLATION);
              assertThat(e.severity()).isEqualTo(Severity.FATAL);
            });
  }
}
