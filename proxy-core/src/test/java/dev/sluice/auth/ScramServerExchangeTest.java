package dev.sluice.auth;

import static dev.sluice.auth.ScramTesting.RANDOM;
import static dev.sluice.auth.ScramTesting.bytes;
import static dev.sluice.auth.ScramTesting.login;
import static dev.sluice.auth.ScramTesting.text;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.InstanceOfAssertFactories.type;

import dev.sluice.error.SluiceException;
import dev.sluice.error.SqlState;
import dev.sluice.protocol.Severity;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Test;

class ScramServerExchangeTest {
  private static final byte[] SALT = Base64.getDecoder().decode("QSXCR+Q6sek8bf92");
  private static final ScramCredentials ALICE = ScramCredentials.derive("s3cret", SALT, 4096);
  private static final byte[] MOCK_SECRET =
      "a mock secret of thirty-two byte".getBytes(StandardCharsets.US_ASCII);

  private final ScramServerExchange server = new ScramServerExchange("alice", ALICE, false, RANDOM);

  @Test
  void rightPasswordLogsIn() {
    login(client("s3cret"), server);
  }

  @Test
  void serverFirstExtendsTheClientNonceAndNamesSaltAndIterations() {
    String serverFirst = text(server.serverFirst(bytes("n,,n=,r=abc")));
    assertThat(serverFirst).matches("r=abc[A-Za-z0-9+/]{24},s=QSXCR\\+Q6sek8bf92,i=4096");
  }

  @Test
  void wrongPasswordFailsWithPostgresMessage() {
    assertThatThrownBy(() -> login(client("wrong"), server))
        .isInstanceOf(AuthenticationFailedException.class)
        .hasMessage("password authentication failed for user \"alice\"")
        .asInstanceOf(type(SluiceException.class))
        .satisfies(
            e -> {
              assertThat(e.state()).isEqualTo(SqlState.INVALID_PASSWORD);
              assertThat(e.severity()).isEqualTo(Severity.FATAL);
            });
  }

  @Test
  void forcedFailureRejectsEvenTheRightPassword() {
    ScramServerExchange doomed = new ScramServerExchange("alice", ALICE, true, RANDOM);
    assertThatThrownBy(() -> login(client("s3cret"), doomed))
        .isInstanceOf(AuthenticationFailedException.class)
        .hasMessage("password authentication failed for user \"alice\"");
  }

  @Test
  void unknownUserFailsExactlyLikeAWrongPassword() {
    ScramCredentials mock = ScramCredentials.mock("mallory", MOCK_SECRET);
    ScramServerExchange doomed = new ScramServerExchange("mallory", mock, true, RANDOM);
    String serverFirst = text(doomed.serverFirst(bytes("n,,n=,r=abc")));
    assertThat(serverFirst).matches("r=abc[A-Za-z0-9+/]{24},s=[A-Za-z0-9+/]{22}==,i=4096");
    byte[] clientFinal = proofMessage("n,,", "n=,r=abc", serverFirst, "anything");
    assertThatThrownBy(() -> doomed.serverFinal(clientFinal))
        .isInstanceOf(AuthenticationFailedException.class)
        .hasMessage("password authentication failed for user \"mallory\"");
  }

  @Test
  void mockKeysRejectProofsEvenWithoutForcedFailure() {
    ScramCredentials mock = ScramCredentials.mock("mallory", MOCK_SECRET);
    ScramServerExchange unforced = new ScramServerExchange("mallory", mock, false, RANDOM);
    assertThatThrownBy(() -> login(client("mallory"), unforced))
        .isInstanceOf(AuthenticationFailedException.class);
  }

  @Test
  void userNameInTheMessageIsIgnored() {
    String serverFirst = text(server.serverFirst(bytes("n,,n=someone=2Celse,r=abc")));
    server.serverFinal(proofMessage("n,,", "n=someone=2Celse,r=abc", serverFirst, "s3cret"));
  }

  @Test
  void clientThatCouldBindButSawNoPlusIsAcceptedWithoutTls() {
    String serverFirst = text(server.serverFirst(bytes("y,,n=,r=abc")));
    byte[] clientFinal = proofMessage("y,,", "n=,r=abc", serverFirst, "s3cret");
    assertThat(text(clientFinal)).startsWith("c=eSws,");
    assertThat(text(server.serverFinal(clientFinal))).startsWith("v=");
  }

  @Test
  void channelBindingRequestIsRefused() {
    assertProtocolViolation(
        () -> server.serverFirst(bytes("p=tls-server-end-point,,n=,r=abc")), "channel binding");
  }

  @Test
  void authorizationIdentityIsRefused() {
    assertProtocolViolation(
        () -> server.serverFirst(bytes("n,a=bob,n=,r=abc")), "authorization identity");
  }

  @Test
  void mandatoryExtensionIsRefused() {
    assertProtocolViolation(() -> server.serverFirst(bytes("n,,m=x,n=,r=abc")), "extension");
  }

  @Test
  void optionalExtensionsAreIgnored() {
    String serverFirst = text(server.serverFirst(bytes("n,,n=,r=abc,x=1")));
    server.serverFinal(proofMessage("n,,", "n=,r=abc,x=1", serverFirst, "s3cret"));
  }

  @Test
  void malformedClientFirstMessagesAreProtocolViolations() {
    for (String bad :
        new String[] {
          "",
          "n,,",
          "n,,n=",
          "n,,n=,r=",
          "n,,r=abc",
          "x,,n=,r=abc",
          "n,n=,r=abc",
          "n,,n=,r=a b",
          "n,,n=,r=abc,",
          "n,,n=,r=abc\u0000",
          "n,,n=,r=ab\u00e9"
        }) {
      ScramServerExchange fresh = new ScramServerExchange("alice", ALICE, false, RANDOM);
      byte[] message = bad.getBytes(StandardCharsets.UTF_8);
      assertProtocolViolation(() -> fresh.serverFirst(message), "");
    }
  }

  @Test
  void tamperedNonceIsAProtocolViolation() {
    String serverFirst = text(server.serverFirst(bytes("n,,n=,r=abc")));
    String nonce = serverFirst.substring(2, serverFirst.indexOf(','));
    byte[] clientFinal = bytes("c=biws,r=" + nonce + "X,p=" + zeroProof());
    assertProtocolViolation(() -> server.serverFinal(clientFinal), "nonce");
  }

  @Test
  void channelBindingDataMustRepeatTheHeader() {
    String serverFirst = text(server.serverFirst(bytes("n,,n=,r=abc")));
    // c=eSws is "y,,": the first message said "n,,".
    byte[] clientFinal = proofMessage("y,,", "n=,r=abc", serverFirst, "s3cret");
    assertProtocolViolation(() -> server.serverFinal(clientFinal), "channel binding");
  }

  @Test
  void malformedClientFinalMessagesAreProtocolViolations() {
    for (String tail :
        new String[] {
          ",p=", ",p=AAAA", ",p=not base64!", "", ",x=1", ",p=" + zeroProof() + ",x=1"
        }) {
      ScramServerExchange fresh = new ScramServerExchange("alice", ALICE, false, "SRV");
      fresh.serverFirst(bytes("n,,n=,r=abc"));
      byte[] clientFinal = bytes("c=biws,r=abcSRV" + tail);
      assertProtocolViolation(() -> fresh.serverFinal(clientFinal), "");
    }
  }

  @Test
  void messagesOutOfOrderAreProtocolViolations() {
    assertProtocolViolation(() -> server.serverFinal(bytes("c=biws,r=x,p=y")), "unexpected");

    ScramServerExchange twice = new ScramServerExchange("alice", ALICE, false, RANDOM);
    twice.serverFirst(bytes("n,,n=,r=abc"));
    assertProtocolViolation(() -> twice.serverFirst(bytes("n,,n=,r=abc")), "unexpected");
  }

  @Test
  void exchangeIsOverAfterAFailure() {
    ScramServerExchange failed = new ScramServerExchange("alice", ALICE, false, RANDOM);
    assertProtocolViolation(() -> failed.serverFirst(bytes("n,a=bob,n=,r=abc")), "");
    assertProtocolViolation(() -> failed.serverFirst(bytes("n,,n=,r=abc")), "unexpected");
  }

  @Test
  void exchangeIsOverAfterSuccess() {
    ScramClient client = client("s3cret");
    login(client, server);
    assertProtocolViolation(() -> server.serverFinal(bytes("c=biws")), "unexpected");
  }

  private static ScramClient client(String password) {
    return new ScramClient(password, new ScramKeyCache(), RANDOM);
  }

  /** A client-final-message built by hand, proving knowledge of {@code password}. */
  private static byte[] proofMessage(
      String gs2Header, String clientFirstBare, String serverFirst, String password) {
    String nonce = serverFirst.substring(2, serverFirst.indexOf(','));
    String withoutProof =
        "c=" + Base64.getEncoder().encodeToString(bytes(gs2Header)) + ",r=" + nonce;
    byte[] authMessage = bytes(clientFirstBare + "," + serverFirst + "," + withoutProof);
    ScramCrypto.Keys keys = ScramCrypto.deriveKeys(password, SALT, 4096);
    byte[] storedKey = ScramCrypto.sha256(keys.clientKey());
    byte[] proof = ScramCrypto.xor(keys.clientKey(), ScramCrypto.hmac(storedKey, authMessage));
    return bytes(withoutProof + ",p=" + Base64.getEncoder().encodeToString(proof));
  }

  private static String zeroProof() {
    return Base64.getEncoder().encodeToString(new byte[32]);
  }

  private static void assertProtocolViolation(ThrowingCallable call, String messagePart) {
    assertThatThrownBy(call)
        .isInstanceOf(SluiceException.class)
        .isNotInstanceOf(AuthenticationFailedException.class)
        .hasMessageContaining(messagePart)
        .asInstanceOf(type(SluiceException.class))
        .satisfies(
            e -> {
              assertThat(e.state()).isEqualTo(SqlState.PROTOCOL_VIOLATION);
              assertThat(e.severity()).isEqualTo(Severity.FATAL);
            });
  }
}
