package dev.sluice.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.protocol.backend.Authentication;
import dev.sluice.protocol.backend.BackendKeyData;
import dev.sluice.protocol.backend.CommandComplete;
import dev.sluice.protocol.backend.ErrorResponse;
import dev.sluice.protocol.backend.NegotiateProtocolVersion;
import dev.sluice.protocol.backend.ParameterStatus;
import dev.sluice.protocol.backend.ReadyForQuery;
import dev.sluice.protocol.frontend.Bind;
import dev.sluice.protocol.frontend.CancelRequest;
import dev.sluice.protocol.frontend.Describe;
import dev.sluice.protocol.frontend.Parse;
import dev.sluice.protocol.frontend.PasswordMessage;
import dev.sluice.protocol.frontend.Query;
import dev.sluice.protocol.frontend.StartupMessage;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/** Golden bytes for every message Sluice decodes or encodes, most frequent first. */
class MessageCodecTest {

  private static String encode(Consumer<ByteBuf> encoder) {
    ByteBuf out = Unpooled.buffer();
    try {
      encoder.accept(out);
      return ByteBufUtil.hexDump(out);
    } finally {
      out.release();
    }
  }

  /** The body of a whole message given as hex, as {@link Frame#body()} would present it. */
  private static ByteBuf body(String hex) {
    ByteBuf whole = Unpooled.wrappedBuffer(ByteBufUtil.decodeHexDump(hex.replace(" ", "")));
    return new Frame(whole.getByte(0), whole).body();
  }

  @Test
  void readyForQuery() {
    assertThat(encode(ReadyForQuery.IDLE::encode)).isEqualTo("5a0000000549");
    assertThat(encode(ReadyForQuery.IN_TRANSACTION::encode)).isEqualTo("5a0000000554");
    assertThat(
            ReadyForQuery.ofFrame(
                Unpooled.wrappedBuffer(ByteBufUtil.decodeHexDump("5a0000000545"))))
        .isEqualTo(ReadyForQuery.FAILED_TRANSACTION);
    assertThat(ReadyForQuery.of((byte) 'x')).isEqualTo(ReadyForQuery.UNKNOWN);
  }

  @Test
  void query() {
    assertThat(encode(new Query("select 1")::encode)).isEqualTo("510000000d73656c656374203100");
    assertThat(Query.decode(body("510000000d73656c656374203100")).sql()).isEqualTo("select 1");
    assertThat(new Query("secret text").toString()).doesNotContain("secret");
  }

  @Test
  void queryWithoutTerminatorIsAViolationNotAnOverread() {
    assertThatThrownBy(() -> Query.decode(body("510000000c73656c6563742031")))
        .isInstanceOf(ProtocolViolationException.class)
        .hasMessageContaining("unterminated string");
  }

  @Test
  void parse() {
    Parse p = new Parse("s1", "select $1", new int[] {23});
    String hex = encode(p::encode);
    assertThat(hex)
        .isEqualTo("5000000017733100" + "73656c656374202431" + "00" + "0001" + "00000017");
    assertThat(Parse.decode(body(hex))).isEqualTo(p);
  }

  @Test
  void bindNamesOnly() {
    // portal "", statement "s1", then formats/params that Sluice never decodes
    Bind b = Bind.decode(body("420000000f 00 733100 0000 0000 0000"));
    assertThat(b).isEqualTo(new Bind("", "s1"));
  }

  @Test
  void describeAndClose() {
    assertThat(Describe.decode(body("4400000008 53 733100")))
        .isEqualTo(new Describe((byte) 'S', "s1"));
    assertThat(Describe.decode(body("4300000006 50 00"))).isEqualTo(new Describe((byte) 'P', ""));
    assertThatThrownBy(() -> Describe.decode(body("4400000006 58 00")))
        .hasMessageContaining("invalid Describe/Close target type 'X'");
  }

  @Test
  void startupMessageRoundTrip() {
    Map<String, String> params = new LinkedHashMap<>();
    params.put("user", "u");
    params.put("database", "d");
    StartupMessage m = new StartupMessage(ProtocolCodes.PROTOCOL_3_0, params);
    String hex = encode(m::encode);
    assertThat(hex)
        .isEqualTo(
            "0000001b00030000" + "7573657200" + "7500" + "646174616261736500" + "6400" + "00");
    ByteBuf whole = Unpooled.wrappedBuffer(ByteBufUtil.decodeHexDump(hex));
    StartupMessage back = StartupMessage.decode(new Frame(Frame.STARTUP, whole).body());
    assertThat(back).isEqualTo(m);
    assertThat(back.toString()).doesNotContain("\"u\"");
  }

  @Test
  void startupMessageRejectsDuplicatesAndMissingTerminator() {
    ByteBuf dup =
        Unpooled.wrappedBuffer(
            ByteBufUtil.decodeHexDump(
                "0000001500030000" + "7500" + "7800" + "7500" + "7900" + "00"));
    assertThatThrownBy(() -> StartupMessage.decode(new Frame(Frame.STARTUP, dup).body()))
        .hasMessageContaining("given twice");
    ByteBuf open =
        Unpooled.wrappedBuffer(ByteBufUtil.decodeHexDump("0000000e00030000" + "7500" + "7800"));
    assertThatThrownBy(() -> StartupMessage.decode(new Frame(Frame.STARTUP, open).body()))
        .hasMessageContaining("expected terminator");
  }

  @Test
  void cancelRequest() {
    CancelRequest r = new CancelRequest(1234, -5);
    String hex = encode(r::encode);
    assertThat(hex).isEqualTo("00000010" + "04d2162e" + "000004d2" + "fffffffb");
    ByteBuf whole = Unpooled.wrappedBuffer(ByteBufUtil.decodeHexDump(hex));
    assertThat(CancelRequest.decode(new Frame(Frame.STARTUP, whole).body())).isEqualTo(r);
  }

  @Test
  void errorResponse() {
    ErrorResponse e = ErrorResponse.of(Severity.FATAL, "08P01", "bad", null, null);
    String hex = encode(e::encode);
    assertThat(hex)
        .isEqualTo(
            "4500000027"
                + "53"
                + "464154414c00"
                + "56"
                + "464154414c00"
                + "43"
                + "303850303100"
                + "4d"
                + "62616400"
                + "52"
                + "736c7569636500"
                + "00");
    ErrorResponse back = ErrorResponse.decode(body(hex));
    assertThat(back.sqlState()).isEqualTo("08P01");
    assertThat(back.isFatal()).isTrue();
    assertThat(back.message()).isEqualTo("bad");
  }

  @Test
  void parameterStatusBackendKeyDataCommandComplete() {
    assertThat(encode(new ParameterStatus("a", "b")::encode)).isEqualTo("5300000008610062" + "00");
    assertThat(ParameterStatus.decode(body("530000000861006200")))
        .isEqualTo(new ParameterStatus("a", "b"));
    assertThat(encode(new BackendKeyData(7, 9)::encode)).isEqualTo("4b0000000c0000000700000009");
    assertThat(BackendKeyData.decode(body("4b0000000c0000000700000009")))
        .isEqualTo(new BackendKeyData(7, 9));
    assertThat(CommandComplete.decode(body("430000000d53454c454354203300")).tag())
        .isEqualTo("SELECT 3");
  }

  @Test
  void negotiateProtocolVersion() {
    String hex = encode(new NegotiateProtocolVersion(0, List.of("_pq_.x"))::encode);
    assertThat(hex).isEqualTo("760000001300000000" + "00000001" + "5f70715f2e7800");
  }

  @Test
  void authenticationMessages() {
    assertThat(encode(Authentication::encodeOk)).isEqualTo("520000000800000000");
    assertThat(encode(Authentication::encodeCleartextPassword)).isEqualTo("520000000800000003");
    assertThat(encode(o -> Authentication.encodeSasl(o, List.of("SCRAM-SHA-256"))))
        .isEqualTo("52000000170000000a" + "5343524" + "14d2d5348412d32353600" + "00");
    assertThat(Authentication.decode(body("520000000c00000005 01020304")))
        .isInstanceOfSatisfying(
            Authentication.Md5Password.class,
            m -> assertThat(m.salt()).containsExactly(1, 2, 3, 4));
    assertThat(Authentication.decode(body("52000000170000000a5343524" + "14d2d5348412d3235360000")))
        .isEqualTo(new Authentication.Sasl(List.of("SCRAM-SHA-256")));
    assertThat(Authentication.decode(body("520000000800000007")))
        .isEqualTo(new Authentication.Unsupported(7));
  }

  @Test
  void passwordMessages() {
    assertThat(encode(o -> PasswordMessage.encodePassword(o, "pw")))
        .isEqualTo("700000000770770" + "0");
    String initial = encode(o -> PasswordMessage.encodeSaslInitial(o, "M", new byte[] {1, 2}));
    assertThat(initial).isEqualTo("700000000c" + "4d00" + "00000002" + "0102");
    PasswordMessage.SaslInitial si = PasswordMessage.decodeSaslInitial(body(initial));
    assertThat(si.mechanism()).isEqualTo("M");
    assertThat(si.data()).containsExactly(1, 2);
  }

  @Test
  void typeBytesMapByDirection() {
    assertThat(FrontendType.of((byte) 'D')).isEqualTo(FrontendType.DESCRIBE);
    assertThat(BackendType.of((byte) 'D')).isEqualTo(BackendType.DATA_ROW);
    assertThat(FrontendType.of((byte) 'Z')).isEqualTo(FrontendType.UNKNOWN);
    assertThat(BackendType.of((byte) 0xF0)).isEqualTo(BackendType.UNKNOWN);
  }
}
