package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.auth.Md5Password;
import dev.sluice.auth.ScramCredentials;
import dev.sluice.auth.ScramServerExchange;
import dev.sluice.config.HostAndPort;
import dev.sluice.config.ProxyConfig;
import dev.sluice.config.Upstream;
import dev.sluice.error.ServerErrorException;
import dev.sluice.error.SluiceException;
import dev.sluice.protocol.Frame;
import dev.sluice.protocol.FrameDecoder;
import dev.sluice.protocol.Severity;
import dev.sluice.protocol.backend.Authentication;
import dev.sluice.protocol.backend.BackendKeyData;
import dev.sluice.protocol.backend.ErrorResponse;
import dev.sluice.protocol.backend.ParameterStatus;
import dev.sluice.protocol.backend.ReadyForQuery;
import dev.sluice.protocol.frontend.PasswordMessage;
import dev.sluice.protocol.frontend.StartupMessage;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.DefaultEventLoopGroup;
import io.netty.channel.embedded.EmbeddedChannel;
import java.security.SecureRandom;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The backend login state machine against a scripted PostgreSQL on an EmbeddedChannel. */
class ServerLoginStateMachineTest {
  private DefaultEventLoopGroup group;
  private ServerPool pool;
  private EmbeddedChannel ch;
  private final CompletableFuture<ServerConnection> login = new CompletableFuture<>();

  @BeforeEach
  void setUp() {
    group = new DefaultEventLoopGroup(1);
    Upstream up =
        new Upstream(
            List.of(new HostAndPort("127.0.0.1", 1)),
            "db",
            "app",
            "pencil",
            Upstream.SslMode.DISABLE,
            Map.of("application_name", "via-sluice"));
    ProxyContext ctx = new ProxyContext(ProxyConfig.builder(up).build(), Transport.best(), group);
    pool = ctx.pools().get(new PoolKey("db", "app"));
    ch = new EmbeddedChannel(FrameDecoder.forServer(1 << 20), new ServerConnection(pool, login));
  }

  @AfterEach
  void tearDown() {
    ch.finishAndReleaseAll();
    group.shutdownGracefully();
  }

  private void serverSends(Consumer<ByteBuf> encoder) {
    ByteBuf b = Unpooled.buffer();
    encoder.accept(b);
    ch.writeInbound(b);
  }

  /** The next message Sluice sent, without its type byte and length. */
  private ByteBuf nextSent(boolean untyped) {
    ByteBuf b = ch.readOutbound();
    assertThat(b).as("a message from Sluice").isNotNull();
    ByteBuf body =
        Unpooled.copiedBuffer(b.slice(untyped ? 4 : 5, b.readableBytes() - (untyped ? 4 : 5)));
    b.release();
    return body;
  }

  private void finishLogin() {
    serverSends(Authentication::encodeOk);
    serverSends(new ParameterStatus("server_version", "15.4")::encode);
    serverSends(new ParameterStatus("TimeZone", "UTC")::encode);
    serverSends(new BackendKeyData(42, 99)::encode);
    serverSends(ReadyForQuery.IDLE::encode);
  }

  @Test
  void startupCarriesUserDatabaseAndUpstreamParameters() {
    StartupMessage m = StartupMessage.decode(nextSent(true));
    assertThat(m.majorVersion()).isEqualTo(3);
    assertThat(m.parameters())
        .containsEntry("user", "app")
        .containsEntry("database", "db")
        .containsEntry("application_name", "via-sluice");
  }

  @Test
  void scramLoginCompletesAndRecordsWhatTheServerReports() {
    nextSent(true).release();
    ScramServerExchange server =
        new ScramServerExchange(
            "app", ScramCredentials.derive("pencil"), false, new SecureRandom());
    serverSends(o -> Authentication.encodeSasl(o, List.of("SCRAM-SHA-256-PLUS", "SCRAM-SHA-256")));
    PasswordMessage.SaslInitial first = PasswordMessage.decodeSaslInitial(nextSent(false));
    assertThat(first.mechanism()).isEqualTo("SCRAM-SHA-256");
    byte[] serverFirst = server.serverFirst(first.data());
    serverSends(o -> Authentication.encodeSaslContinue(o, serverFirst));
    byte[] clientFinal = PasswordMessage.decodeSaslResponse(nextSent(false));
    byte[] serverFinal = server.serverFinal(clientFinal);
    serverSends(o -> Authentication.encodeSaslFinal(o, serverFinal));
    assertThat(login).isNotDone();
    finishLogin();
    assertThat(login).isCompleted();
    ServerConnection s = login.join();
    assertThat(s.key()).isEqualTo(new BackendKeyData(42, 99));
    assertThat(s.startupReport()).containsEntry("TimeZone", "UTC");
    assertThat(pool.serverDefaults()).containsEntry("server_version", "15.4");
  }

  @Test
  void md5LoginAnswersWithTheSaltedHash() {
    nextSent(true).release();
    byte[] salt = {9, 8, 7, 6};
    serverSends(o -> Authentication.encodeMd5Password(o, salt));
    assertThat(PasswordMessage.decodePassword(nextSent(false)))
        .isEqualTo(Md5Password.hash("app", "pencil", salt));
    finishLogin();
    assertThat(login).isCompleted();
  }

  @Test
  void cleartextLoginSendsThePassword() {
    nextSent(true).release();
    serverSends(Authentication::encodeCleartextPassword);
    assertThat(PasswordMessage.decodePassword(nextSent(false))).isEqualTo("pencil");
  }

  @Test
  void serverErrorDuringLoginFailsWithTheServersOwnError() {
    nextSent(true).release();
    ErrorResponse e =
        ErrorResponse.of(Severity.FATAL, "3D000", "database \"db\" does not exist", null, null);
    serverSends(e::encode);
    assertThat(login).isCompletedExceptionally();
    assertThat(login.handle((s, t) -> t).join())
        .isInstanceOfSatisfying(
            ServerErrorException.class, x -> assertThat(x.error().sqlState()).isEqualTo("3D000"));
    assertThat(ch.isActive()).isFalse();
  }

  @Test
  void unsupportedAuthenticationMethodFailsWith08001() {
    nextSent(true).release();
    serverSends(
        o -> {
          o.writeByte('R').writeInt(8).writeInt(7);
        });
    assertThat(login.handle((s, t) -> t).join())
        .isInstanceOf(SluiceException.class)
        .hasMessageContaining("authentication method 7");
  }

  @Test
  void loggedInFramesGoToTheSinkOncePerRead() {
    nextSent(true).release();
    finishLogin();
    ServerConnection s = login.join();
    List<List<Frame>> batches = new java.util.ArrayList<>();
    s.attach(
        new ServerConnection.Sink() {
          @Override
          public void onServerFrames(ServerConnection server, List<Frame> frames) {
            batches.add(frames);
          }

          @Override
          public void onServerWritable(ServerConnection server) {}

          @Override
          public void onServerClosed(ServerConnection server) {}
        });
    ByteBuf read = Unpooled.buffer();
    ReadyForQuery.IDLE.encode(read);
    read.writeBytes(new byte[] {'D', 0, 0, 0, 6, 0, 0});
    read.writeBytes(new byte[] {'D', 0, 0, 0, 6, 0, 0});
    ReadyForQuery.IDLE.encode(read);
    ch.writeInbound(read);
    assertThat(batches).hasSize(1);
    assertThat(batches.get(0))
        .extracting(Frame::type)
        .containsExactly((byte) 'Z', Frame.RUN, (byte) 'Z');
    batches.get(0).forEach(Frame::release);
  }

  private String failure() {
    Throwable t = login.handle((s, e) -> e).join();
    assertThat(t).isInstanceOf(SluiceException.class);
    assertThat(ch.isActive()).isFalse();
    return ((SluiceException) t).state().code() + " " + t.getMessage();
  }

  @Test
  void readyForQueryWithoutAuthenticationOkIsAViolation() {
    nextSent(true).release();
    serverSends(ReadyForQuery.IDLE::encode);
    assertThat(failure()).startsWith("08P01").contains("before AuthenticationOk");
  }

  @Test
  void authenticationOkInTheMiddleOfScramIsAViolation() {
    nextSent(true).release();
    serverSends(o -> Authentication.encodeSasl(o, List.of("SCRAM-SHA-256")));
    nextSent(false).release();
    serverSends(Authentication::encodeOk);
    assertThat(failure()).startsWith("08P01").contains("before the SCRAM exchange finished");
  }

  @Test
  void aSecondAuthenticationRequestIsAViolation() {
    nextSent(true).release();
    serverSends(Authentication::encodeCleartextPassword);
    nextSent(false).release();
    serverSends(o -> Authentication.encodeMd5Password(o, new byte[] {1, 2, 3, 4}));
    assertThat(failure()).startsWith("08P01").contains("second authentication request");
  }

  @Test
  void aBadLengthDuringLoginIsNotRetriedAsANetworkFailure() {
    nextSent(true).release();
    ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {'R', (byte) 0xff, (byte) 0xff, 0, 0}));
    assertThat(failure()).startsWith("08001").contains("broke the protocol");
  }
}
