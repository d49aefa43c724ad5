package dev.sluice.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
        .hasCauseInstanceOf(ProtocolViolationException.class)
        .hasMessageContaining("unexpected data after an encryption request");
    Object first = other.readInbound();
    ((Frame) first).release();
    other.finishAndReleaseAll();
  }

  @Test
  void oversizedStartupPacketIsAProtocolViolation() {
    channel = new EmbeddedChannel(FrameDecoder.forClient(1 << 20));
    assertThatThrownBy(() -> channel.writeInbound(hex("00002711 00030000")))
        .hasCauseInstanceOf(ProtocolViolationException.class)
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
        .hasCauseInstanceOf(ProtocolViolationException.class)
        .hasMessageContaining("message of 1048576 bytes (type 'Q') exceeds the limit");
    ProtocolViolationException e = violation(() -> channel.writeInbound(hex("00")));
    assertThat(e).isNull();
  }

  @Test
  void lengthBelowFourIsAProtocolViolation() {
    channel = new EmbeddedChannel(FrameDecoder.forServer(1 << 20));
    assertThatThrownBy(() -> channel.writeInbound(hex("5a 00000003")))
        .hasCauseInstanceOf(ProtocolViolationException.class)
        .hasMessageContaining("invalid message length 3");
  }

  @Test
  void framesBeforeAViolationAreStillDelivered() {
    channel = new EmbeddedChannel(FrameDecoder.forServer(1 << 20));
    assertThatThrownBy(() -> channel.writeInbound(hex("5a 00000005 49 5a 00000002")))
        .hasCauseInstanceOf(ProtocolViolationException.class);
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

  @Test
  void beforeLoginAMessageMayNotExceedPostgresAuthLimit() {
    channel = new EmbeddedChannel(FrameDecoder.forClient(1 << 20));
    channel.writeInbound(hex("00000010 00030000 7573657200 7500 00"));
    drain();
    // a password message declaring 100 MB: refused on its header, nothing buffered
    assertThatThrownBy(() -> channel.writeInbound(hex("70 06400000 41")))
        .hasCauseInstanceOf(ProtocolViolationException.class)
        .hasMessageContaining("exceeds the limit of 65535 bytes before login");
  }

  @Test
  void afterLoginTheConfiguredLimitApplies() {
    channel = new EmbeddedChannel(FrameDecoder.forClient(1 << 20));
    channel.writeInbound(hex("00000010 00030000 7573657200 7500 00"));
    drain();
    ((FrameDecoder) channel.pipeline().first()).loginCompleted();
    ByteBuf big = Unpooled.buffer().writeByte('Q').writeInt(4 + 70_000);
    big.writeZero(70_000);
    channel.writeInbound(big);
    assertThat(drain()).extracting(Frame::size).containsExactly(5 + 70_000);
  }

  /** Records the decoder's read pauses, as the client connection would act on them. */
  private static final class PauseRecorder extends io.netty.channel.ChannelInboundHandlerAdapter {
    final List<FrameDecoder.ReadPause> events = new ArrayList<>();

    @Override
    public void userEventTriggered(io.netty.channel.ChannelHandlerContext ctx, Object evt) {
      events.add((FrameDecoder.ReadPause) evt);
    }
  }

  private static EmbeddedChannel loggedInClient(MessageMemory memory, PauseRecorder pauses) {
    FrameDecoder d = FrameDecoder.forClient(1 << 20, memory);
    EmbeddedChannel ch = new EmbeddedChannel(d, pauses);
    ch.writeInbound(hex("00000010 00030000 7573657200 7500 00"));
    Frame startup = ch.readInbound();
    startup.release();
    d.loginCompleted();
    return ch;
  }

  private static ByteBuf queryHeader(int bodyLength, int bytesOfBody) {
    ByteBuf b = Unpooled.buffer().writeByte('Q').writeInt(4 + bodyLength);
    return b.writeZero(bytesOfBody);
  }

  @Test
  void largeIncompleteMessagesShareOneBudgetAndWaitForIt() {
    MessageMemory memory = new MessageMemory(100_000);
    PauseRecorder firstPauses = new PauseRecorder();
    PauseRecorder secondPauses = new PauseRecorder();
    EmbeddedChannel first = loggedInClient(memory, firstPauses);
    EmbeddedChannel second = loggedInClient(memory, secondPauses);
    try {
      first.writeInbound(queryHeader(80_000, 1000));
      assertThat(memory.reserved()).isEqualTo(1 + 4 + 80_000);
      assertThat(firstPauses.events).isEmpty();

      second.writeInbound(queryHeader(50_000, 1000));
      assertThat(memory.reserved()).isEqualTo(1 + 4 + 80_000);
      assertThat(memory.waiting()).isEqualTo(1);
      assertThat(secondPauses.events).containsExactly(FrameDecoder.ReadPause.PAUSE);

      // the first message completes: its reservation goes to the second, which reads again
      first.writeInbound(Unpooled.buffer().writeZero(79_000));
      Frame done = first.readInbound();
      assertThat(done.size()).isEqualTo(1 + 4 + 80_000);
      done.release();
      second.runPendingTasks();
      assertThat(secondPauses.events)
          .containsExactly(FrameDecoder.ReadPause.PAUSE, FrameDecoder.ReadPause.RESUME);
      assertThat(memory.reserved()).isEqualTo(1 + 4 + 50_000);

      second.writeInbound(Unpooled.buffer().writeZero(49_000));
      Frame alsoDone = second.readInbound();
      alsoDone.release();
      assertThat(memory.reserved()).isZero();
      assertThat(memory.peak()).isLessThanOrEqualTo(100_000);
    } finally {
      first.finishAndReleaseAll();
      second.finishAndReleaseAll();
    }
  }

  @Test
  void aClosedConnectionGivesBackItsReservationAndItsPlaceInLine() {
    MessageMemory memory = new MessageMemory(100_000);
    EmbeddedChannel holder = loggedInClient(memory, new PauseRecorder());
    EmbeddedChannel waiter = loggedInClient(memory, new PauseRecorder());
    holder.writeInbound(queryHeader(90_000, 10));
    waiter.writeInbound(queryHeader(90_000, 10));
    assertThat(memory.waiting()).isEqualTo(1);
    waiter.close();
    assertThat(memory.waiting()).isZero();
    holder.close();
    assertThat(memory.reserved()).isZero();
  }

  @Test
  void aMessageLargerThanTheWholeBudgetIsLetInAlone() {
    MessageMemory memory = new MessageMemory(10_000);
    EmbeddedChannel ch = loggedInClient(memory, new PauseRecorder());
    try {
      ch.writeInbound(queryHeader(50_000, 100));
      assertThat(memory.reserved()).isEqualTo(1 + 4 + 50_000);
      ch.writeInbound(Unpooled.buffer().writeZero(49_900));
      Frame f = ch.readInbound();
      f.release();
      assertThat(memory.reserved()).isZero();
    } finally {
      ch.finishAndReleaseAll();
    }
  }

  private static ProtocolViolationException violation(Runnable r) {
    try {
      r.run();
      return null;
    } catch (DecoderException e) {
      return (ProtocolViolationException) e.getCause();
    }
  }

  /** Found by FrameDecoderFuzzTest: these would pass for a CopyData run and a startup packet. */
  @Test
  void messageTypesThatCollideWithPseudoTypesAreViolations() {
    for (String type : new String[] {"00", "ff"}) {
      channel = new EmbeddedChannel(FrameDecoder.forServer(1 << 20));
      assertThatThrownBy(() -> channel.writeInbound(hex(type + "00000004")))
          .isInstanceOf(DecoderException.class)
          .hasCauseInstanceOf(ProtocolViolationException.class)
          .hasMessageContaining("invalid message type");
      assertThat(drain()).isEmpty();
      channel.finishAndReleaseAll();
    }
    channel = null;
  }
}
