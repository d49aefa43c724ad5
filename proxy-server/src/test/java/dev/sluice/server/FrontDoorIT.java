package dev.sluice.server;

import static dev.sluice.server.ScriptClient.bytes;
import static dev.sluice.server.ScriptClient.message;
import static dev.sluice.server.ScriptClient.query;
import static dev.sluice.server.ScriptClient.startup;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.protocol.ProtocolCodes;
import dev.sluice.protocol.frontend.PasswordMessage;
import dev.sluice.testing.PostgresExtension;
import dev.sluice.testing.PostgresServer;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The CVE classes of PostgreSQL poolers' front doors, as byte-level client scripts against a real
 * Sluice and PostgreSQL (docs/security.md has the table). Every injected script carries a {@code
 * CREATE TABLE injected_...}: that no such table ever exists proves the bytes were never forwarded.
 * After each script an honest session opened before it, and a new one, still work.
 */
@ExtendWith(PostgresExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FrontDoorIT {
  private static final String INJECTED = "CREATE TABLE injected_front_door ()";

  private PostgresServer pg;
  private TestSluice sluice;
  private Connection honest;

  @BeforeAll
  void start(PostgresServer pg) throws Exception {
    this.pg = pg;
    sluice = TestSluice.start(pg, b -> b);
    honest = sluice.connect();
  }

  @AfterAll
  void stop() throws Exception {
    honest.close();
    sluice.close();
  }

  /** The honest session still works, a new one logs in, and nothing injected ever ran. */
  @AfterEach
  void sluiceKeepsServingOthers() throws Exception {
    assertThat(value(honest, "SELECT 41 + 1")).isEqualTo("42");
    try (Connection c = sluice.connect()) {
      assertThat(value(c, "SELECT to_regclass('injected_front_door') IS NULL")).isEqualTo("t");
    }
  }

  private static String value(Connection c, String sql) throws Exception {
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getString(1);
    }
  }

  private ScriptClient client() throws Exception {
    return new ScriptClient(sluice.port());
  }

  private ScriptClient loggedIn() throws Exception {
    return client().login(pg.appUser(), pg.appDatabase(), pg.appPassword());
  }

  /** Waits for the authentication request that follows a startup packet. */
  private ScriptClient awaitingPassword() throws Exception {
    ScriptClient c = client().send(startup(pg.appUser(), pg.appDatabase()));
    assertThat(c.read().authCode()).as("AuthenticationSASL").isEqualTo(10);
    return c;
  }

  @Test
  void aSecondStartupMessageAfterLoginIsRefusedAndNeverForwarded() throws Exception {
    try (ScriptClient c = loggedIn()) {
      c.send(startup("postgres", "postgres"), query(INJECTED)).expectErrorAndClose("08P01");
    }
  }

  @Test
  void aSecondStartupMessageDuringAuthenticationIsRefused() throws Exception {
    try (ScriptClient c = awaitingPassword()) {
      c.send(startup("postgres", "postgres"), query(INJECTED)).expectErrorAndClose("08P01");
    }
  }

  @Test
  void aSaslResponseBeforeTheInitialResponseIsRefused() throws Exception {
    try (ScriptClient c = awaitingPassword()) {
      byte[] response = "c=biws,r=abc,p=AAAA".getBytes(StandardCharsets.US_ASCII);
      c.send(bytes(o -> PasswordMessage.encodeSaslResponse(o, response)), query(INJECTED))
          .expectErrorAndClose("08P01");
    }
  }

  @Test
  void aPasswordMessageNobodyAskedForIsRefusedAndNeverForwarded() throws Exception {
    try (ScriptClient c = loggedIn()) {
      c.send(bytes(o -> PasswordMessage.encodePassword(o, "secret")), query(INJECTED))
          .expectErrorAndClose("08P01");
    }
  }

  @Test
  void aPasswordMessageInsteadOfAStartupPacketClosesWithoutAWord() throws Exception {
    try (ScriptClient c = client()) {
      c.send(bytes(o -> PasswordMessage.encodePassword(o, "secret")), query(INJECTED));
      assertThat(c.readToEnd()).isEmpty();
    }
  }

  /**
   * With TLS off, bytes pipelined behind an SSLRequest or GSSENCRequest (the CVE-2021-23214 class)
   * are never read: the answer is 'N' at most, then the end. ClientTlsIT covers TLS on.
   */
  @ParameterizedTest
  @MethodSource("encryptionRequests")
  void bytesPipelinedBehindAnEncryptionRequestAreNeverRead(int code) throws Exception {
    try (ScriptClient c = client()) {
      byte[] request = bytes(o -> o.writeInt(8).writeInt(code));
      c.send(request, startup(pg.appUser(), pg.appDatabase()), query(INJECTED));
      byte[] seen = c.readToEnd();
      assertThat(seen.length == 0 || (seen.length == 1 && seen[0] == 'N'))
          .as("nothing but 'N': %d bytes", seen.length)
          .isTrue();
    }
  }

  static Stream<Integer> encryptionRequests() {
    return Stream.of(ProtocolCodes.SSL_REQUEST_CODE, ProtocolCodes.GSSENC_REQUEST_CODE);
  }

  /** Malformed client-first-messages: the crash class of other poolers' SCRAM code. */
  @ParameterizedTest
  @MethodSource("malformedClientFirst")
  void malformedScramInitialResponsesAre08P01(String mechanism, byte[] data) throws Exception {
    try (ScriptClient c = awaitingPassword()) {
      c.send(bytes(o -> PasswordMessage.encodeSaslInitial(o, mechanism, data)))
          .expectErrorAndClose("08P01");
    }
  }

  static Stream<Arguments> malformedClientFirst() {
    String m = ScriptClient.MECH;
    return Stream.of(
        Arguments.of(m, ascii("")),
        Arguments.of(m, ascii("n,,")),
        Arguments.of(m, ascii("x,,n=,r=abc")),
        Arguments.of(m, ascii("p=tls-server-end-point,,n=,r=abc")),
        Arguments.of(m, ascii("n,a=admin,n=,r=abc")),
        Arguments.of(m, ascii("n,,m=ext,n=,r=abc")),
        Arguments.of(m, ascii("n,,n=,r=")),
        Arguments.of(m, ascii("n,,n=,r=ab\0c")),
        Arguments.of(m, ascii("n,,n=,r=abc,")),
        Arguments.of("SCRAM-SHA-1", ascii("n,,n=,r=abc")));
  }

  /** A SASLInitialResponse whose data length field lies: overflowing, negative, short. */
  @ParameterizedTest
  @MethodSource("lyingDataLengths")
  void saslDataLengthsThatLieAre08P01(int declared) throws Exception {
    try (ScriptClient c = awaitingPassword()) {
      byte[] body =
          bytes(
              o -> {
                o.writeCharSequence(ScriptClient.MECH + "\0", StandardCharsets.US_ASCII);
                o.writeInt(declared).writeBytes(ascii("n,,n=,r=abc"));
              });
      c.send(message('p', body)).expectErrorAndClose("08P01");
    }
  }

  static Stream<Integer> lyingDataLengths() {
    return Stream.of(Integer.MAX_VALUE, Integer.MIN_VALUE, -1, 5, 100);
  }

  /** Malformed client-final-messages after a well-formed first message. */
  @ParameterizedTest
  @MethodSource("malformedClientFinal")
  void malformedScramFinalMessagesAreRefused(String finalMessage, String sqlState)
      throws Exception {
    try (ScriptClient c = awaitingPassword()) {
      c.send(bytes(o -> PasswordMessage.encodeSaslInitial(o, ScriptClient.MECH, first())));
      ScriptClient.Reply cont = c.read();
      assertThat(cont.authCode()).as("AuthenticationSASLContinue").isEqualTo(11);
      String serverFirst =
          new String(cont.body(), 4, cont.body().length - 4, StandardCharsets.US_ASCII);
      String nonce = serverFirst.substring(2, serverFirst.indexOf(','));
      byte[] fin = ascii(finalMessage.replace("NONCE", nonce));
      c.send(bytes(o -> PasswordMessage.encodeSaslResponse(o, fin)), query(INJECTED))
          .expectErrorAndClose(sqlState);
    }
  }

  static Stream<Arguments> malformedClientFinal() {
    String proof = "p=" + "A".repeat(43) + "=";
    return Stream.of(
        Arguments.of("c=biws,r=NONCE," + proof, "28P01"),
        Arguments.of("c=biws,r=NONCE", "08P01"),
        Arguments.of("c=biws,r=NONCE,p=***", "08P01"),
        Arguments.of("c=biws,r=NONCE,p=AAAA", "08P01"),
        Arguments.of("c=biws,r=someoneelse," + proof, "08P01"),
        Arguments.of("c=eSws,r=NONCE," + proof, "08P01"),
        Arguments.of("r=NONCE," + proof, "08P01"),
        Arguments.of("", "08P01"));
  }

  private static byte[] first() {
    return ascii("n,,n=,r=fyko+d2lbbFgONRv9qkxdawL");
  }

  private static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.ISO_8859_1);
  }
}
