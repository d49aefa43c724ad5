package dev.sluice.testing;

import io.netty.buffer.AbstractByteBufAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.UnpooledDirectByteBuf;
import io.netty.buffer.UnpooledHeapByteBuf;
import java.util.ArrayList;
import java.util.List;

/**
 * An allocator for fuzz harnesses: it remembers every buffer it hands out and the largest capacity
 * asked for, so a harness can check after each input that every buffer was released (reference
 * counts, not a leak detector's eventual report) and that no allocation was sized by a length field
 * an attacker declared.
 *
 * <p>Not thread-safe: for one {@code EmbeddedChannel} at a time.
 */
public final class TrackingAllocator extends AbstractByteBufAllocator {
  private final List<ByteBuf> handedOut = new ArrayList<>();
  private int largestRequest;

  public TrackingAllocator() {
    super(false);
  }

  @Override
  protected ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
    return track(new UnpooledHeapByteBuf(this, initialCapacity, maxCapacity), initialCapacity);
  }

  @Override
  protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
    return track(new UnpooledDirectByteBuf(this, initialCapacity, maxCapacity), initialCapacity);
  }

  @Override
  public boolean isDirectBufferPooled() {
    return false;
  }

  private ByteBuf track(ByteBuf b, int requested) {
    handedOut.add(b);
    largestRequest = Math.max(largestRequest, requested);
    return b;
  }

  /** The largest initial capacity any allocation asked for. */
  public int largestRequest() {
    return largestRequest;
  }

  /** The most bytes of capacity held at once by buffers still alive. */
  public long liveCapacity() {
    long sum = 0;
    for (ByteBuf b : handedOut) {
      if (b.refCnt() > 0) {
        sum += b.capacity();
      }
    }
    return sum;
  }

  /** Buffers handed out and not released. */
  public List<ByteBuf> unreleased() {
    return handedOut.stream().filter(b -> b.refCnt() > 0).toList();
  }

  /**
   * @throws AssertionError naming how many buffers are still referenced, and their sizes
   */
  public void assertAllReleased(String after) {
    List<ByteBuf> live = unreleased();
    if (!live.isEmpty()) {
      throw new AssertionError(
          live.size()
              + " buffer(s) never released after "
              + after
              + ": "
              + live.stream()
                  .map(
                      b ->
                          b.refCnt()
                              + "x"
                              + b.readableBytes()
                              + " "
                              + io.netty.buffer.ByteBufUtil.hexDump(
                                  b, 0, Math.min(64, b.writerIndex())))
                  .toList());
    }
  }

  /** Releases what is left, so that a failed check does not also leak. */
  public void releaseRemaining() {
    for (ByteBuf b : handedOut) {
      if (b.refCnt() > 0) {
        b.release(b.refCnt());
      }
    }
  }
}
