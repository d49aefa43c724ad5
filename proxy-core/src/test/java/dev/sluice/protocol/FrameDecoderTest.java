package dev.sluice.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.error.SluiceException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class FrameDecoderTest {
  private final List<Frame> frames = new ArrayList<>();
  private EmbeddedChannel channel;

  @AfterEach
  void releaseAll() {
    frames.forEach(Frame::release);
    if (channel != null) {
      channel.finishAndReleaseAll();
    }
  }

  private static ByteBuf hex(String h) {
    return Unpooled.wrappedBuffer(ByteBufUtil.decodeHexDump(h.replace(" ", "")));
  }

  private List<Frame> drain() {
    List<Frame> out = new ArrayList<>();
    Object o;
    while ((o = channel.readInbound()) != null) {
      out.add((Frame) o);
    }
    frames.addAll(out);
    return out;
  }

  private static String hexOf(Frame f) {
    return ByteBufUtil.hexDump(f.buf());
  }

  @Test
  void dataRowsBetweenControlMessagesBecomeOneRun() {
    channel = new EmbeddedChannel(FrameDecoder.forServer(1 << 20));
    // RowDescription (empty), DataRow x3, CommandComplete "SELECT 3", ReadyForQuery 'I'
    String rowDesc = "54 00000006 0000";
    String dataRow = "44 0000000a 0001 00000000";
    String cc = "43 0000000d 53454c4543542033 00";
    String rfq = "5a 00000005 49";
    channel.writeInbound(hex(rowDesc + dataRow + dataRow + dataRow + cc + rfq));
    List<Frame> out = drain();
    assertThat(out)
        .extracting(Frame::type)
        .containsExactly((byte) 'T', Frame.RUN, (byte) 'C', (byte) 'Z');
    assertThat(out.get(1).size()).isEqualTo(3 * 11);
    assertThat(hexOf(out.get(3))).isEqualTo("5a0000000549");
  }

  @Test
  void splitMessageWaitsForItsLastByte() {
    channel = new EmbeddedChannel(FrameDecoder.forServer(1 << 20));
    channel.writeInbound(hex("5a 0000"));
    assertThat(drain()).isEmpty();
    channel.writeInbound(hex("0005"));
    assertThat(drain()).isEmpty();
    channel.writeInbound(hex("49 5a00000005"));
    List<Frame> out = drain();
    assertThat(out).hasSize(1);
    assertThat(hexOf(out.get(0))).isEqualTo("5a0000000549");
    channel.writeInbound(hex("54"));
    assertThat(drain()).extracting(Frame::type).containsExactly((byte) 'Z');
  }

  @Test
  void framesAreSlicesOfTheReceiveBufferNotCopies() {
    channel = new EmbeddedChannel(FrameDecoder.forServer(1 << 20));
    ByteBuf in = hex("44 0000000a 0001 00000000 5a 00000005 49");
    channel.writeInbound(in);
    List<Frame> out = drain();
    assertThat(out.get(0).buf().unwrap()).isNotNull();
  }

  @Test
  void clientStartupThenTypedMessages() {
    channel = new EmbeddedChannel(FrameDecoder.forClient(1 << 20));
    // StartupMessage 3.0 user=u, then Query "select 1"
    channel.writeInbound(
        hex("00000010 00030000 7573657200 7500 00" + "51 0000000d 73656c6563742031 00"));
    List<Frame> out = drain();
    assertThat(out).extracting(Frame::type).containsExactly(Frame.STARTUP, (byte) 'Q');
    assertThat(ByteBufUtil.hexDump(out.get(0).body())).isEqualTo("00030000757365720075000" + "0");
  }

  @Test
  void sslRequestKeepsTheStartupStateAndRefusesPipelinedBytes() {
    channel = new EmbeddedChannel(FrameDecoder.forClient(1 << 20));
    channel.writeInbound(hex("00000008 04d2162f"));
    assertThat(drain()).extracting(Frame::type).containsExactly(Frame.STARTUP);
    // a second startup-phase packet is still read as one
    channel.writeInbound(hex("00000010 00030000 7573657200 7500 00"));
    assertThat(drain()).extracting(Frame::type).containsExactly(Frame.STARTUP);

    EmbeddedChannel other = new EmbeddedChannel(FrameDecoder.forClient(1 << 20));
    assertThatThrownBy(() -> other.writeInbound(hex("00000008 04d2162f 00000010")))
        .isInstanceOf(DecoderException.class)
        .hasCauseInstanceOf(SluiceException.class)
        .hasMessageContaining("unexpected data after an encryption request");
    Object first = other.readInbound();
    ((Frame) first).release();
    other.finishAndReleaseAll();
  }

  @Test
  void oversizedStartupPacketIsAProtocolViolation() {
    channel = new EmbeddedChannel(FrameDecoder.forClient(1 << 20));
    assertThatThrownBy(() -> channel.writeInbound(hex("00002711 00030000")))
        .hasCauseInstanceOf(SluiceException.class)
        .hasMessageContaining("invalid startup packet length 10001");
    assertThat(((FrameDecoder) channel.pipeline().first()).state())
        .isEqualTo(FrameDecoder.State.FAILED);
    // anything after the violation is dropped, never decoded
    channel.writeInbound(hex("51 0000000d 73656c6563742031 00"));
    assertThat(drain()).isEmpty();
  }

  @Test
  void messageOverTheLimitIsRejectedBeforeItIsBuffered() {
    channel = new EmbeddedChannel(FrameDecoder.forClient(1024));
    channel.writeInbound(hex("00000010 00030000 7573657200 7500 00"));
    drain();
    assertThatThrownBy(() -> channel.writeInbound(hex("51 00100000 41")))
        .hasCauseInstanceOf(SluiceException.class)
        .hasMessageContaining("message of 1048576 bytes (type 'Q') exceeds the limit");
    SluiceException e = violation(() -> channel.writeInbound(hex("00")));
    assertThat(e).isNull();
  }

  @Test
  void lengthBelowFourIsAProtocolViolation() {
    channel = new EmbeddedChannel(FrameDecoder.forServer(1 << 20));
    assertThatThrownBy(() -> channel.writeInbound(hex("5a 00000003")))
        .hasCauseInstanceOf(SluiceException.class)
        .hasMessageContaining("invalid message length 3");
  }

  @Test
  void framesBeforeAViolationAreStillDelivered() {
    channel = new EmbeddedChannel(FrameDecoder.forServer(1 << 20));
    assertThatThrownBy(() -> channel.writeInbound(hex("5a 00000005 49 5a 00000002")))
        .hasCauseInstanceOf(SluiceException.class);
    assertThat(drain()).extracting(Frame::type).containsExactly((byte) 'Z');
  }

  @Test
  void copyDataFromAClientTravelsAsRuns() {
    channel = new EmbeddedChannel(FrameDecoder.forClient(1 << 20));
    channel.writeInbound(hex("00000010 00030000 7573657200 7500 00"));
    drain();
    channel.writeInbound(hex("64 00000006 6162 64 00000005 63 63 00000004"));
    assertThat(drain()).extracting(Frame::type).containsExactly(Frame.RUN, (byte) 'c');
  }

  private static SluiceException violation(Runnable r) {
    try {
      r.run();
      return null;
    } catch (DecoderException e) {
      return (SluiceException) e.getCause();
    }
  }
}
