package dev.sluice.server;

import static dev.sluice.server.ScriptClient.bytes;
import static dev.sluice.server.ScriptClient.header;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.protocol.FrameDecoder;
import dev.sluice.protocol.ProtocolCodes;
import dev.sluice.testing.PostgresExtension;
import dev.sluice.testing.PostgresServer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The length-field matrix from the client's side (HostileBackendIT has the backend's): 0, 3, 4, 5,
 * the maximum, one more, 2^31-1 and negative, for a logged-in client's messages, for a message
 * before login, and for the startup packet. Lengths past a limit are refused on the header alone:
 * the body is never sent, so an answer proves Sluice did not wait for (or buffer) it.
 */
@ExtendWith(PostgresExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ClientLengthMatrixIT {
  private static final int MAX = 100_000;

  private PostgresServer pg;
  private TestSluice sluice;

  @BeforeAll
  void start(PostgresServer pg) {
    this.pg = pg;
    sluice = TestSluice.start(pg, b -> b.maxMessageSize(MAX));
  }

  @AfterAll
  void stop() {
    sluice.close();
  }

  @AfterEach
  void sluiceKeepsServingOthers() throws Exception {
    try (ScriptClient c = loggedIn()) {
      c.send(ScriptClient.query("SELECT 1"));
      assertThat(replies(c)).containsExactly("T", "D", "C", "Z");
    }
  }

  private ScriptClient loggedIn() throws Exception {
    return new ScriptClient(sluice.port()).login(pg.appUser(), pg.appDatabase(), pg.appPassword());
  }

  private static List<String> replies(ScriptClient c) throws Exception {
    List<String> seen = new ArrayList<>();
    while (true) {
      ScriptClient.Reply r = c.read();
      seen.add(ScriptClient.describe(r));
      if (r.type() == 'Z') {
        return seen;
      }
    }
  }

  /** A Query whose length field says {@code length}, its body padded to match where it can. */
  private static byte[] query(int length) {
    if (length < 5 || length > MAX) {
      return header('Q', length, "SELECT 1\0".getBytes(StandardCharsets.US_ASCII));
    }
    byte[] body = new byte[length - 4];
    java.util.Arrays.fill(body, (byte) ' ');
    byte[] sql = "SELECT 1".getBytes(StandardCharsets.US_ASCII);
    System.arraycopy(sql, 0, body, 0, Math.min(sql.length, body.length - 1));
    body[body.length - 1] = 0;
    return header('Q', length, body);
  }

  @ParameterizedTest(name = "length {0}: 08P01 and closed")
  @ValueSource(ints = {0, 3, 4, MAX + 1, Integer.MAX_VALUE, -1, Integer.MIN_VALUE})
  void aLoggedInClientsBadLengthIs08P01AndClose(int length) throws Exception {
    try (ScriptClient c = loggedIn()) {
      c.send(query(length)).expectErrorAndClose("08P01");
    }
  }

  @ParameterizedTest(name = "length {0}: answered")
  @ValueSource(ints = {5, 13, MAX})
  void lengthsWithinTheLimitAreServed(int length) throws Exception {
    try (ScriptClient c = loggedIn()) {
      c.send(query(length));
      List<String> expected = length == 5 ? List.of("I", "Z") : List.of("T", "D", "C", "Z");
      assertThat(replies(c)).isEqualTo(expected);
    }
  }

  @ParameterizedTest(name = "length {0} before login: 08P01 and closed")
  @MethodSource("loginLengths")
  void beforeLoginTheLimitIsPostgresAuthTokenLimit(int length) throws Exception {
    try (ScriptClient c = new ScriptClient(sluice.port())) {
      c.send(ScriptClient.startup(pg.appUser(), pg.appDatabase()));
      assertThat(c.read().authCode()).isEqualTo(10);
      c.send(header('p', length, new byte[8])).expectErrorAndClose("08P01");
    }
  }

  static Stream<Integer> loginLengths() {
    int max = FrameDecoder.MAX_LOGIN_MESSAGE;
    return Stream.of(0, 3, max + 1, Integer.MAX_VALUE, -1);
  }

  /** Like PostgreSQL: a bad startup packet length is logged, never answered. */
  @ParameterizedTest(name = "startup length {0}: closed without a word")
  @MethodSource("startupLengths")
  void aBadStartupPacketLengthClosesWithoutAWord(int length) throws Exception {
    try (ScriptClient c = new ScriptClient(sluice.port())) {
      c.send(bytes(o -> o.writeInt(length).writeInt(ProtocolCodes.PROTOCOL_3_0).writeByte(0)));
      assertThat(c.readToEnd()).isEmpty();
    }
  }

  static Stream<Integer> startupLengths() {
    int max = ProtocolCodes.MAX_STARTUP_PACKET;
    return Stream.of(0, 3, 4, 5, 7, max + 1, Integer.MAX_VALUE, -1, Integer.MIN_VALUE);
  }

  /**
   * The shortest legal lengths: a version and no terminator (8) is a FATAL about its layout, a
   * version and an empty list (9) one about the missing user, as PostgreSQL answers both.
   */
  @ParameterizedTest(name = "startup length {0}: FATAL {1}")
  @org.junit.jupiter.params.provider.CsvSource({"8, 08P01", "9, 28000"})
  void theShortestStartupPacketsGetPostgresqlsFatal(int length, String sqlState) throws Exception {
    try (ScriptClient c = new ScriptClient(sluice.port())) {
      c.send(bytes(o -> o.writeInt(length).writeInt(ProtocolCodes.PROTOCOL_3_0).writeByte(0)))
          .expectErrorAndClose(sqlState);
    }
  }

  @ParameterizedTest(name = "startup packet of exactly the maximum")
  @ValueSource(ints = {ProtocolCodes.MAX_STARTUP_PACKET})
  void aStartupPacketOfTheMaximumLengthIsRead(int length) throws Exception {
    byte[] base = ScriptClient.startup(pg.appUser(), pg.appDatabase());
    int pad = length - base.length - "application_name".length() - 2;
    String name = "x".repeat(pad);
    byte[] packet =
        bytes(
            o -> {
              o.writeInt(length).writeInt(ProtocolCodes.PROTOCOL_3_0);
              o.writeBytes(base, 8, base.length - 9);
              o.writeCharSequence("application_name\0" + name + "\0\0", StandardCharsets.US_ASCII);
            });
    assertThat(packet).hasSize(length);
    try (ScriptClient c = new ScriptClient(sluice.port())) {
      assertThat(c.send(packet).read().authCode()).as("AuthenticationSASL").isEqualTo(10);
    }
  }
}
