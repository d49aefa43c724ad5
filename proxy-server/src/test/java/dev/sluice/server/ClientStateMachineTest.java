package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.ClientAuth;
import dev.sluice.config.HostAndPort;
import dev.sluice.config.ProxyConfig;
import dev.sluice.config.TlsMode;
import dev.sluice.config.Upstream;
import dev.sluice.protocol.FrameDecoder;
import dev.sluice.protocol.ProtocolCodes;
import dev.sluice.protocol.backend.ErrorResponse;
import dev.sluice.protocol.frontend.PasswordMessage;
import dev.sluice.protocol.frontend.Query;
import dev.sluice.protocol.frontend.StartupMessage;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.DefaultEventLoopGroup;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The client-side state machine against a scripted client on an {@link EmbeddedChannel}: the
 * startup phase, authentication, and the errors each misstep earns. No backend is involved; the
 * pool's server settings are seeded as a first backend login would.
 */
class ClientStateMachineTest {
  private DefaultEventLoopGroup group;
  private ProxyContext ctx;
  private EmbeddedChannel ch;

  @BeforeEach
  void setUp() {
    group = new DefaultEventLoopGroup(1);
    ctx = context(ClientAuth.PASSWORD, 1 << 20);
  }

  @AfterEach
  void tearDown() {
    if (ch != null) {
      ch.finishAndReleaseAll();
    }
    group.shutdownGracefully();
  }

  private ProxyContext context(ClientAuth auth, int maxMessage) {
    Upstream up =
        new Upstream(
            List.of(new HostAndPort("127.0.0.1", 1)),
            "db",
            "app",
            "secret",
            Upstream.SslMode.DISABLE,
            Map.of());
    ProxyConfig config =
        ProxyConfig.builder(up)
            .clientAuth(auth)
            .maxMessageSize(maxMessage)
            .maxClientConnections(2)
            .tlsMode(TlsMode.DISABLE) // plain text: these scripts speak no TLS
            // no upstream here: the cache's catalog read would wait for a backend forever
            .cache(c -> c.withEnabled(false))
            .build();
    ProxyContext c = new ProxyContext(config, Transport.best(), group);
    Map<String, String> report = new LinkedHashMap<>();
    report.put("server_version", "15.0");
    report.put("application_name", "");
    report.put("DateStyle", "ISO, MDY");
    c.pools().get(new PoolKey("db", "app")).learnDefaults(report, 1);
    return c;
  }

  private EmbeddedChannel client() {
    ch =
        new EmbeddedChannel(
            FrameDecoder.forClient(ctx.config().maxMessageSize()), new ClientConnection(ctx));
    return ch;
  }

  private static ByteBuf startup(String... kv) {
    Map<String, String> m = new LinkedHashMap<>();
    for (int i = 0; i < kv.length; i += 2) {
      m.put(kv[i], kv[i + 1]);
    }
    return startup(ProtocolCodes.PROTOCOL_3_0, m);
  }

  private static ByteBuf startup(int version, Map<String, String> m) {
    ByteBuf b = Unpooled.buffer();
    new StartupMessage(version, m).encode(b);
    return b;
  }

  private static ByteBuf password(String pw) {
    ByteBuf b = Unpooled.buffer();
    PasswordMessage.encodePassword(b, pw);
    return b;
  }

  /** Everything the client was sent so far, as (type, body) pairs. */
  private List<String> sent() {
    List<String> out = new ArrayList<>();
    ByteBuf all = Unpooled.buffer();
    Object o;
    while ((o = ch.readOutbound()) != null) {
      ByteBuf b = (ByteBuf) o;
      all.writeBytes(b);
      b.release();
    }
    while (all.isReadable()) {
      if (all.readableBytes() == 1) {
        out.add(String.valueOf((char) all.readByte()));
        break;
      }
      char type = (char) all.readByte();
      int len = all.readInt();
      out.add(type + ":" + ByteBufUtil.hexDump(all.readSlice(len - 4)));
    }
    all.release();
    return out;
  }

  private static String errorCode(String message) {
    ByteBuf body = Unpooled.wrappedBuffer(ByteBufUtil.decodeHexDump(message.substring(2)));
    return ErrorResponse.decode(body).sqlState();
  }

  @Test
  void sslAndGssEncryptionRequestsAreAnsweredNo() {
    client();
    ByteBuf ssl = Unpooled.buffer().writeInt(8).writeInt(ProtocolCodes.SSL_REQUEST_CODE);
    ch.writeInbound(ssl);
    assertThat(sent()).containsExactly("N");
    ByteBuf gss = Unpooled.buffer().writeInt(8).writeInt(ProtocolCodes.GSSENC_REQUEST_CODE);
    ch.writeInbound(gss);
    assertThat(sent()).containsExactly("N");
    ch.writeInbound(startup("user", "app"));
    assertThat(sent()).containsExactly("R:00000003");
    assertThat(ch.isActive()).isTrue();
  }

  @Test
  void cleartextLoginReportsTheClientsOwnSettings() {
    // as if a backend had accepted it before: this login needs no backend
    ctx.pools()
        .get(new PoolKey("db", "app"))
        .checkedSettings()
        .remember(Map.of("application_name", "mine"), List.of("mine"));
    client();
    ch.writeInbound(startup("user", "app", "database", "db", "application_name", "mine"));
    assertThat(sent()).containsExactly("R:00000003");
    ch.writeInbound(password("secret"));
    List<String> out = sent();
    assertThat(out.get(0)).isEqualTo("R:00000000");
    assertThat(out)
        .contains(
            "S:" + hex("server_version\0" + "15.0\0"),
            "S:" + hex("application_name\0" + "mine\0"),
            "S:" + hex("DateStyle\0" + "ISO, MDY\0"));
    assertThat(out.get(out.size() - 2)).startsWith("K:");
    assertThat(out.get(out.size() - 1)).isEqualTo("Z:49");
    assertThat(ctx.cancels().size()).isEqualTo(1);
  }

  @Test
  void wrongPasswordIs28P01AndCloses() {
    client();
    ch.writeInbound(startup("user", "app"));
    sent();
    ch.writeInbound(password("nope"));
    List<String> out = sent();
    assertThat(out).hasSize(1);
    assertThat(errorCode(out.get(0))).isEqualTo("28P01");
    assertThat(ch.isActive()).isFalse();
    assertThat(ctx.clientCount()).isZero();
  }

  @Test
  void protocolTwoIsRefusedWith0A000() {
    client();
    ch.writeInbound(startup(2 << 16, Map.of("user", "app")));
    List<String> out = sent();
    assertThat(errorCode(out.get(0))).isEqualTo("0A000");
    assertThat(ch.isActive()).isFalse();
  }

  @Test
  void newerMinorVersionIsNegotiatedDownTo30() {
    client();
    Map<String, String> m = new LinkedHashMap<>();
    m.put("user", "app");
    m.put("_pq_.something", "on");
    ch.writeInbound(startup((3 << 16) | 2, m));
    List<String> out = sent();
    assertThat(out.get(0)).isEqualTo("v:" + "00000000" + "00000001" + hex("_pq_.something\0"));
    assertThat(out.get(1)).isEqualTo("R:00000003");
  }

  @Test
  void missingUserIs28000AndReplicationIs0A000() {
    client();
    ch.writeInbound(startup("database", "db"));
    assertThat(errorCode(sent().get(0))).isEqualTo("28000");
    ch.finishAndReleaseAll();
    client();
    ch.writeInbound(startup("user", "app", "replication", "database"));
    assertThat(errorCode(sent().get(0))).isEqualTo("0A000");
  }

  @Test
  void anythingButAPasswordDuringAuthenticationIs08P01() {
    client();
    ch.writeInbound(startup("user", "app"));
    sent();
    ByteBuf q = Unpooled.buffer();
    new Query("select 1").encode(q);
    ch.writeInbound(q);
    assertThat(errorCode(sent().get(0))).isEqualTo("08P01");
    assertThat(ch.isActive()).isFalse();
  }

  @Test
  void unknownMessageTypeAfterLoginIs08P01() {
    loggedIn();
    ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {'~', 0, 0, 0, 4}));
    List<String> out = sent();
    assertThat(errorCode(out.get(0))).isEqualTo("08P01");
    assertThat(ch.isActive()).isFalse();
  }

  @Test
  void malformedParseIs08P01() {
    loggedIn();
    // Parse whose statement name has no terminator
    ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {'P', 0, 0, 0, 7, 'a', 'b', 'c'}));
    List<String> out = sent();
    assertThat(errorCode(out.get(0))).isEqualTo("08P01");
    assertThat(ch.isActive()).isFalse();
  }

  @Test
  void aSyncWithNothingBeforeItIsAnsweredWithoutABackend() {
    loggedIn();
    ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {'S', 0, 0, 0, 4}));
    assertThat(sent()).containsExactly("Z:49");
    assertThat(ctx.pools().get(new PoolKey("db", "app")).pool().stats().waiting()).isZero();
  }

  @Test
  void oversizedMessageIs08P01ForThatClient() {
    ctx = context(ClientAuth.PASSWORD, 4096);
    loggedIn();
    ByteBuf big = Unpooled.buffer();
    new Query("x".repeat(10_000)).encode(big);
    ch.writeInbound(big);
    List<String> out = sent();
    assertThat(errorCode(out.get(0))).isEqualTo("08P01");
    assertThat(ch.isActive()).isFalse();
  }

  @Test
  void clientsBeyondTheLimitGet53300AfterTheirStartupPacket() {
    loggedIn();
    EmbeddedChannel first = ch;
    loggedIn();
    EmbeddedChannel second = ch;
    EmbeddedChannel third = client();
    third.writeInbound(startup("user", "app"));
    assertThat(errorCode(sent().get(0))).isEqualTo("53300");
    assertThat(third.isActive()).isFalse();
    first.finishAndReleaseAll();
    second.finishAndReleaseAll();
  }

  @Test
  void connectionsStillLoggingInDoNotCountAsClients() {
    EmbeddedChannel halfOpen = client();
    EmbeddedChannel alsoHalfOpen = client();
    halfOpen.writeInbound(startup("user", "app", "database", "db"));
    loggedIn();
    assertThat(ctx.clientCount()).isEqualTo(1);
    assertThat(ctx.pendingLogins().size()).isEqualTo(2);
    halfOpen.finishAndReleaseAll();
    alsoHalfOpen.finishAndReleaseAll();
  }

  /**
   * node-postgres ends a connection it no longer wants by sending Terminate before any startup
   * packet. PostgreSQL reads that as a bad startup packet length, logs it and closes without a
   * word; a FATAL would surface in the client as an unhandled error.
   */
  @Test
  void terminateBeforeTheStartupPacketClosesWithoutAWord() {
    client();
    ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {'X', 0, 0, 0, 4}));
    assertThat(sent()).isEmpty();
    assertThat(ch.isActive()).isFalse();
  }

  @Test
  void unsupportedStartupOptionIsRefused() {
    client();
    ch.writeInbound(startup("user", "app", "options", "-d 5"));
    assertThat(errorCode(sent().get(0))).isEqualTo("0A000");
  }

  private void loggedIn() {
    client();
    ch.writeInbound(startup("user", "app", "database", "db"));
    ch.writeInbound(password("secret"));
    List<String> out = sent();
    assertThat(out.get(out.size() - 1)).isEqualTo("Z:49");
  }

  private static String hex(String s) {
    return ByteBufUtil.hexDump(s.getBytes(StandardCharsets.UTF_8));
  }
}
