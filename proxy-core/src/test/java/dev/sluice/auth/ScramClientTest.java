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
import java.util.Base64;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Test;

class ScramClientTest {
  private static final String SALT = "QSXCR+Q6sek8bf92";

  private final ScramClient client = new ScramClient("s3cret", new ScramKeyCache(), "", "abc");

  @Test
  void clientFirstSendsAnEmptyUserNameAndARandomNonceLikeLibpq() {
    String first = text(new ScramClient("s3cret", new ScramKeyCache(), RANDOM).clientFirst());
    assertThat(first).matches("n,,n=,r=[A-Za-z0-9+/]{24}");
  }

  @Test
  void userNameIsEscapedAsSaslName() {
    ScramClient named = new ScramClient("s3cret", new ScramKeyCache(), "a=b,c", "abc");
    assertThat(text(named.clientFirst())).isEqualTo("n,,n=a=3Db=2Cc,r=abc");
  }

  @Test
  void logsInWithANonAsciiPasswordPreparedLikeTheServer() {
    ScramCredentials stored =
        ScramCredentials.derive("pass wordIX", Base64.getDecoder().decode(SALT), 4096);
    ScramClient nonAscii = new ScramClient("pass\u00A0word\u2168", new ScramKeyCache(), RANDOM);
    login(nonAscii, new ScramServerExchange("alice", stored, false, RANDOM));
  }

  @Test
  void serverMustExtendTheClientNonce() {
    client.clientFirst();
    assertProtocolViolation(() -> client.clientFinal(bytes("r=xyzSRV,s=" + SALT + ",i=4096")));
    ScramClient other = new ScramClient("s3cret", new ScramKeyCache(), "", "abc");
    other.clientFirst();
    assertProtocolViolation(() -> other.clientFinal(bytes("r=abc,s=" + SALT + ",i=4096")));
  }

  @Test
  void iterationCountMustBeSane() {
    for (String i : new String[] {"0", "1000001", "99999999999999999999", "-1", "", "4k"}) {
      ScramClient fresh = new ScramClient("s3cret", new ScramKeyCache(), "", "abc");
      fresh.clientFirst();
      assertProtocolViolation(() -> fresh.clientFinal(bytes("r=abcSRV,s=" + SALT + ",i=" + i)));
    }
  }

  @Test
  void smallestIterationCountIsAccepted() {
    ScramClient fresh = new ScramClient("s3cret", new ScramKeyCache(), "", "abc");
    fresh.clientFirst();
    assertThat(text(fresh.clientFinal(bytes("r=abcSRV,s=" + SALT + ",i=1")))).startsWith("c=biws");
  }

  @Test
  void malformedServerFirstMessagesAreProtocolViolations() {
    for (String bad :
        new String[] {
          "m=x,r=abcSRV,s=" + SALT + ",i=4096",
          "r=abcSRV,s=,i=4096",
          "r=abcSRV,s=***,i=4096",
          "r=abcSRV,i=4096",
          "r=abcSRV,s=" + SALT + ",i=4096,x=1",
          "r=abcSRV,s=" + SALT,
          ""
        }) {
      ScramClient fresh = new ScramClient("s3cret", new ScramKeyCache(), "", "abc");
      fresh.clientFirst();
      assertProtocolViolation(() -> fresh.clientFinal(bytes(bad)));
    }
  }

  @Test
  void serverSignatureMismatchIsRefused() {
    ScramClient fresh = new ScramClient("s3cret", new ScramKeyCache(), "", "abc");
    fresh.clientFirst();
    fresh.clientFinal(bytes("r=abcSRV,s=" + SALT + ",i=4096"));
    String forged = "v=" + Base64.getEncoder().encodeToString(new byte[32]);
    assertThatThrownBy(() -> fresh.verifyServerFinal(bytes(forged)))
        .hasMessageStartingWith("server signature mismatch")
        .asInstanceOf(type(SluiceException.class))
        .extracting(SluiceException::state)
        .isEqualTo(SqlState.INVALID_AUTHORIZATION_SPECIFICATION);
  }

  @Test
  void serverErrorIsReported() {
    client.clientFirst();
    client.clientFinal(bytes("r=abcSRV,s=" + SALT + ",i=4096"));
    assertThatThrownBy(() -> client.verifyServerFinal(bytes("e=invalid-proof")))
        .hasMessageContaining("invalid-proof")
        .asInstanceOf(type(SluiceException.class))
        .extracting(SluiceException::state)
        .isEqualTo(SqlState.INVALID_AUTHORIZATION_SPECIFICATION);
  }

  @Test
  void messagesOutOfOrderAreProtocolViolations() {
    assertProtocolViolation(() -> client.clientFinal(bytes("r=abcSRV,s=" + SALT + ",i=4096")));

    ScramClient early = new ScramClient("s3cret", new ScramKeyCache(), "", "abc");
    early.clientFirst();
    assertProtocolViolation(() -> early.verifyServerFinal(bytes("v=AAAA")));

    ScramClient twice = new ScramClient("s3cret", new ScramKeyCache(), "", "abc");
    twice.clientFirst();
    assertProtocolViolation(twice::clientFirst);
  }

  @Test
  void emptyPasswordIsRefusedUpFront() {
    assertThatThrownBy(() -> new ScramClient("", new ScramKeyCache(), RANDOM))
        .isInstanceOf(IllegalArgumentException.class);
  }

  private static void assertProtocolViolation(ThrowingCallable call) {
    assertThatThrownBy(call)
        .isInstanceOf(SluiceException.class)
        .asInstanceOf(type(SluiceException.class))
        .extracting(SluiceException::state)
        .isEqualTo(SqlState.PROTOCOL_VIOLATION);
  }
}
