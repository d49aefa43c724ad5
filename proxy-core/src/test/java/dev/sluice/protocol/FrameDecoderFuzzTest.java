package dev.sluice.protocol;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.sluice.testing.TrackingAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;
import java.util.ArrayList;
import java.util.List;

/**
 * Coverage-guided fuzzing of both {@link FrameDecoder}s, fed through an {@link EmbeddedChannel} in
 * chunks the fuzzer chooses (so messages split across reads are decoded too).
 *
 * <p>Checked for every input: the only exception is a {@link ProtocolViolationException}, after
 * which the decoder is {@code FAILED} and emits nothing more; every frame is one whole message (or
 * a run of whole pass-through messages) within the limit; the buffers held grow with the bytes
 * received, never with a declared length; the memory reservation stays within one message and is
 * given back; every buffer is released once the channel is done (reference counts, checked at
 * once).
 *
 * <p>Without {@code JAZZER_FUZZ} this replays the inputs under {@code
 * src/test/resources/dev/sluice/protocol/FrameDecoderFuzzTestInputs/}; see docs/security.md for a
 * fuzzing run.
 */
class FrameDecoderFuzzTest {

  @FuzzTest(maxDuration = "2m")
  void clientDecoder(FuzzedDataProvider data) {
    int max = data.consumeInt(16, 100_000);
    boolean loginCompleted = data.consumeBoolean();
    MessageMemory memory = new MessageMemory(data.consumeLong(1, 200_000));
    FrameDecoder decoder = FrameDecoder.forClient(max, memory);
    if (loginCompleted) {
      decoder.loginCompleted();
    }
    int limit = loginCompleted ? max : Math.min(max, FrameDecoder.MAX_LOGIN_MESSAGE);
    new Run(decoder, Math.max(max, FrameDecoder.MAX_LOGIN_MESSAGE), memory).feed(data);
    assertThat(memory.reserved() == 0, "reservation returned, " + memory.reserved() + " held");
    assertThat(memory.waiting() == 0, "no reservation left waiting");
    assertThat(limit > 0, "limit");
  }

  @FuzzTest(maxDuration = "2m")
  void serverDecoder(FuzzedDataProvider data) {
    int max = data.consumeInt(16, 100_000);
    new Run(FrameDecoder.forServer(max), max, null).feed(data);
  }

  /** One input's run: the channel, what came out of the decoder, and the checks. */
  private static final class Run extends ChannelInboundHandlerAdapter {
    private final FrameDecoder decoder;
    private final int limit;
    private final MessageMemory memory;
    private final TrackingAllocator alloc = new TrackingAllocator();
    private final List<Frame> frames = new ArrayList<>();
    private final List<Throwable> errors = new ArrayList<>();
    private boolean paused;
    private long fed;

    Run(FrameDecoder decoder, int limit, MessageMemory memory) {
      this.decoder = decoder;
      this.limit = limit;
      this.memory = memory;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      frames.add((Frame) msg);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      errors.add(cause);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
      FrameDecoder.ReadPause p = (FrameDecoder.ReadPause) evt;
      assertThat(paused == (p == FrameDecoder.ReadPause.RESUME), "pause events alternate: " + p);
      paused = p == FrameDecoder.ReadPause.PAUSE;
    }

    void feed(FuzzedDataProvider data) {
      EmbeddedChannel ch = new EmbeddedChannel();
      ch.config().setAllocator(alloc);
      ch.pipeline().addLast(decoder, this);
      try {
        while (data.remainingBytes() > 0 && ch.isOpen()) {
          byte[] chunk = data.consumeBytes(data.consumeInt(1, 4096));
          if (chunk.length == 0) {
            break;
          }
          fed += chunk.length;
          FrameDecoder.State before = decoder.state();
          ch.writeInbound(alloc.heapBuffer(chunk.length).writeBytes(chunk));
          ch.runPendingTasks();
          checkAfterRead(before);
        }
        ch.finish();
        checkFrames();
        alloc.assertAllReleased("the channel finished");
      } finally {
        frames.forEach(Frame::release);
        ch.finishAndReleaseAll();
        alloc.releaseRemaining();
      }
    }

    private void checkAfterRead(FrameDecoder.State before) {
      for (Throwable t : errors) {
        Throwable cause = t instanceof DecoderException ? t.getCause() : t;
        if (!(cause instanceof ProtocolViolationException)) {
          throw new AssertionError("unexpected exception from the decoder", t);
        }
        assertThat(decoder.state() == FrameDecoder.State.FAILED, "FAILED after a violation");
      }
      if (before == FrameDecoder.State.FAILED) {
        assertThat(frames.isEmpty(), "no frame after the decoder failed");
      }
      errors.clear();
      checkFrames();
      // Buffers grow with what was received (a cumulation doubles, and keeps read bytes until
      // it is compacted), never with what a length field declares.
      long bound = 2L * fed + 1024;
      assertThat(alloc.largestRequest() <= bound, "allocation of " + alloc.largestRequest());
      assertThat(alloc.liveCapacity() <= bound, "buffered " + alloc.liveCapacity() + " bytes");
      assertThat(decoder.reserved() <= limit + 1L, "reservation " + decoder.reserved());
      if (memory != null) {
        assertThat(memory.reserved() <= limit + 1L, "shared reservation " + memory.reserved());
      }
    }

    private void checkFrames() {
      while (!frames.isEmpty()) {
        Frame f = frames.remove(0);
        try {
          checkFrame(f);
        } finally {
          f.release();
        }
      }
    }

    private void checkFrame(Frame f) {
      {
        ByteBuf b = f.buf();
        int size = b.readableBytes();
        if (f.type() == Frame.STARTUP) {
          int len = b.getInt(b.readerIndex());
          assertThat(len == size && len >= 8 && len <= ProtocolCodes.MAX_STARTUP_PACKET, "startup");
        } else if (f.isRun()) {
          int pos = b.readerIndex();
          while (pos < b.writerIndex()) {
            int len = b.getInt(pos + 1);
            assertThat(len >= 4 && len <= limit, "run member length " + len);
            pos += 1 + len;
          }
          assertThat(pos == b.writerIndex(), "a run holds whole messages only");
        } else {
          int len = b.getInt(b.readerIndex() + 1);
          assertThat(b.getByte(b.readerIndex()) == f.type(), "type byte");
          assertThat(len + 1 == size && len >= 4 && len <= limit, "message length " + len);
        }
      }
    }
  }

  private static void assertThat(boolean ok, String what) {
    if (!ok) {
      throw new AssertionError("invariant broken: " + what);
    }
  }
}
