package dev.sluice.server;

import static dev.sluice.server.ScriptClient.bytes;
import static dev.sluice.server.ScriptClient.message;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.sluice.config.HostAndPort;
import dev.sluice.protocol.FrameDecoder;
import dev.sluice.testing.PostgresExtension;
import dev.sluice.testing.PostgresServer;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A hostile or broken upstream ({@link FakeBackend}) for database {@code evil}, the real PostgreSQL
 * for the others: malformed SCRAM, authentication out of order, and the length-field matrix from
 * the backend's side. The client that asked for {@code evil} gets a clean FATAL and the end of its
 * connection; whatever the backend sent after its violation (marked {@code INJECTED}) never reaches
 * it; an honest session on the same Sluice keeps working throughout.
 */
@ExtendWith(PostgresExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HostileBackendIT {
  private static final String MARKER = "INJECTED";

  private PostgresServer pg;
  private FakeBackend backend;
  private TestSluice sluice;
  private Connection honest;

  @BeforeAll
  void start(PostgresServer pg) throws Exception {
    this.pg = pg;
    backend = new FakeBackend(pg);
    sluice =
        TestSluice.start(
            pg,
            new HostAndPort("127.0.0.1", backend.port()),
            b ->
                b.allowDatabases(Set.of(pg.appDatabase(), "evil"))
                    .connectRetries(0)
                    .connectTimeout(Duration.ofSeconds(5))
                    .acquireTimeout(Duration.ofSeconds(5)));
    honest = sluice.connect();
  }

  @AfterAll
  void stop() throws Exception {
    honest.close();
    sluice.close();
    backend.close();
  }

  /** Runs {@code script} as the upstream of a login to {@code evil}; returns the client's error. */
  private String loginAgainst(FakeBackend.Script script) throws Exception {
    backend.script(
        (in, out) -> {
          script.run(in, out);
          // what a compromised backend would like the client to see next
          out.write(message('N', ("SNOTICE\0C00000\0M" + MARKER + "\0\0").getBytes()));
          out.write(message('Z', new byte[] {'I'}));
        });
    try (ScriptClient c = new ScriptClient(sluice.port())) {
      ScriptClient.LoginRefused refused =
          catchThrowableOfType(
              ScriptClient.LoginRefused.class,
              () -> c.login(pg.appUser(), "evil", pg.appPassword()));
      assertThat(refused).as("the login through a hostile backend fails").isNotNull();
      byte[] rest = c.readToEnd();
      assertThat(new String(refused.error.body(), StandardCharsets.ISO_8859_1))
          .doesNotContain(MARKER);
      assertThat(rest).as("nothing after the error").isEmpty();
      try (ResultSet rs = honest.createStatement().executeQuery("SELECT 6 * 7")) {
        rs.next();
        assertThat(rs.getInt(1)).as("the honest session meanwhile").isEqualTo(42);
      }
      System.out.printf(
          "HostileBackendIT: %s%n", ScriptClient.describe(refused.error) + " " + summary(refused));
      return refused.error.sqlState();
    }
  }

  private static String summary(ScriptClient.LoginRefused r) {
    return dev.sluice.protocol.backend.ErrorResponse.decode(
            io.netty.buffer.Unpooled.wrappedBuffer(r.error.body()))
        .summary();
  }

  /** AuthenticationSASL, then Sluice's client-first-message; returns its nonce. */
  private static String saslStart(DataInputStream in, OutputStream out) throws IOException {
    out.write(message('R', bytes(o -> o.writeInt(10).writeBytes("SCRAM-SHA-256\0\0".getBytes()))));
    out.flush();
    String first = new String(FakeBackend.expect(in, 'p'), StandardCharsets.ISO_8859_1);
    return first.substring(first.indexOf("r=") + 2);
  }

  private static byte[] auth(int code, String data) {
    return message('R', bytes(o -> o.writeInt(code).writeBytes(data.getBytes())));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("malformedScram")
  void malformedScramFromTheBackendEndsTheLoginCleanly(String name, FakeBackend.Script script)
      throws Exception {
    assertThat(loginAgainst(script)).as(name).startsWith("08");
  }

  static Stream<Arguments> malformedScram() {
    return Stream.of(
        script(
            "huge iteration count",
            (in, out) -> {
              String n = saslStart(in, out);
              out.write(auth(11, "r=" + n + "srv,s=c2FsdA==,i=2000000000"));
            }),
        script(
            "nonce not prefixed by the client's",
            (in, out) -> {
              saslStart(in, out);
              out.write(auth(11, "r=attackerchosen,s=c2FsdA==,i=4096"));
            }),
        script(
            "oversized SASLContinue",
            (in, out) -> {
              saslStart(in, out);
              out.write(bytes(o -> o.writeByte('R').writeInt(64 << 20).writeInt(11)));
              out.write(new byte[4096]);
            }),
        script(
            "garbage server-first-message",
            (in, out) -> {
              saslStart(in, out);
              out.write(auth(11, "\0\0garbage"));
            }),
        script(
            "SASLFinal before SASLContinue",
            (in, out) -> {
              saslStart(in, out);
              out.write(auth(12, "v=AAAA"));
            }));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("outOfOrder")
  void authenticationOutOfOrderFromTheBackendEndsTheLoginCleanly(
      String name, FakeBackend.Script script) throws Exception {
    assertThat(loginAgainst(script)).as(name).startsWith("08");
  }

  static Stream<Arguments> outOfOrder() {
    byte[] ok = auth(0, "");
    return Stream.of(
        script("ReadyForQuery without authentication", (in, out) -> {}),
        script(
            "AuthenticationOk in the middle of SCRAM",
            (in, out) -> {
              saslStart(in, out);
              out.write(ok);
            }),
        script(
            "a second authentication request",
            (in, out) -> {
              out.write(auth(3, ""));
              out.flush();
              FakeBackend.expect(in, 'p');
              out.write(auth(5, "salt"));
            }),
        script(
            "BackendKeyData before AuthenticationOk",
            (in, out) -> out.write(message('K', bytes(o -> o.writeInt(1).writeInt(2))))),
        script("SASLContinue without SASL", (in, out) -> out.write(auth(11, "r=x,s=eA==,i=1"))));
  }

  /** The length matrix on the backend's side, on the first message of its login. */
  @ParameterizedTest(name = "length {0}")
  @MethodSource("lengths")
  void badLengthsFromTheBackendEndTheLoginCleanly(int length) throws Exception {
    String state =
        loginAgainst(
            (in, out) -> {
              out.write(bytes(o -> o.writeByte('R').writeInt(length).writeInt(0)));
              // a length at the limit is legal: the backend then goes quiet and hangs up
            });
    assertThat(state).startsWith("08");
  }

  static Stream<Integer> lengths() {
    int max = FrameDecoder.MAX_SERVER_LOGIN_MESSAGE;
    return Stream.of(0, 3, 4, 5, max, max + 1, Integer.MAX_VALUE, -1, Integer.MIN_VALUE);
  }

  private static Arguments script(String name, FakeBackend.Script s) {
    return Arguments.of(name, s);
  }
}
