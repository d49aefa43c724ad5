package dev.sluice.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.platform.launcher.EngineFilter;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.junit.platform.launcher.listeners.TestExecutionSummary;

/**
 * The leak check catches what it must: buffers leaked here on purpose are reported, released ones
 * are not, and a test class that leaks fails. Each test takes back the leaks it made, so the check
 * that runs after this class finds nothing of them.
 */
class NettyLeakCheckTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(10);

  static Stream<Arguments> allocators() {
    return Stream.of(
        Arguments.of("pooled", PooledByteBufAllocator.DEFAULT),
        Arguments.of("unpooled", UnpooledByteBufAllocator.DEFAULT),
        Arguments.of("default", ByteBufAllocator.DEFAULT));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("allocators")
  void aBufferDroppedWithoutReleaseIsReportedWithWhereItWasUsed(
      String name, ByteBufAllocator alloc) {
    String marker = LeakReports.expectedMarker("unreleased-" + name);
    dropUnreleased(alloc, marker);
    LeakReports.collect(TIMEOUT);
    List<LeakReports.Leak> mine = LeakReports.claim(marker);
    assertThat(mine).hasSize(1);
    assertThat(mine.get(0).resourceType()).isEqualTo("ByteBuf");
    assertThat(mine.get(0).records()).contains(marker).contains("dropUnreleased");
  }

  @Test
  void aRetainedSliceNeverReleasedIsReportedAndSoIsTheBufferItKeepsAlive() {
    // What a frame decoder does: a retained slice outlives the read buffer it came from. The slice
    // holds a reference to that buffer, so releasing the buffer does not free it: both leak.
    String marker = LeakReports.expectedMarker("slice");
    dropUnreleasedSlice(marker);
    LeakReports.collect(TIMEOUT);
    List<LeakReports.Leak> mine = LeakReports.claim("dropUnreleasedSlice");
    assertThat(mine).hasSize(2).anySatisfy(l -> assertThat(l.records()).contains(marker));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("allocators")
  void unreleasedBuffersAreCountedUntilTheirLastRelease(String name, ByteBufAllocator alloc) {
    long before = LeakReports.unreleasedBuffers();
    List<ByteBuf> bufs = Stream.generate(() -> alloc.directBuffer(64)).limit(100).toList();
    ByteBuf retained = bufs.get(0).retain();
    assertThat(LeakReports.unreleasedBuffers()).isEqualTo(before + 100);
    bufs.forEach(ByteBuf::release);
    assertThat(LeakReports.unreleasedBuffers()).as("one still retained").isEqualTo(before + 1);
    retained.release();
    assertThat(LeakReports.unreleasedBuffers()).isEqualTo(before);
  }

  @Test
  void aReleasedBufferIsNotReported() {
    String marker = LeakReports.expectedMarker("released");
    ByteBuf buf = PooledByteBufAllocator.DEFAULT.heapBuffer(16);
    buf.writeInt(1).touch(marker);
    assertThat(buf.release()).isTrue();
    buf = null;
    LeakReports.collect(TIMEOUT);
    assertThat(LeakReports.claim(marker)).isEmpty();
  }

  @Test
  void aTestClassThatLeaksFails() {
    // Leaks still unreported from earlier classes are theirs: fail on them here rather than let
    // the fixture's check take them.
    LeakReports.collect(TIMEOUT);
    assertThat(LeakReports.drain()).as("leaks reported before this test").isEmpty();

    LeakingFixture.marker = LeakReports.expectedMarker("fixture");
    TestExecutionSummary summary;
    try {
      summary = run(LeakingFixture.class);
    } finally {
      LeakingFixture.marker = null;
    }

    assertThat(summary.getTestsSucceededCount()).as("the fixture's test itself passes").isOne();
    assertThat(summary.getFailures())
        .singleElement()
        .satisfies(
            f -> {
              assertThat(f.getTestIdentifier().isContainer()).isTrue();
              assertThat(f.getException())
                  .isInstanceOf(AssertionError.class)
                  .hasMessageContaining("1 leaked Netty buffer(s) reported after")
                  .hasMessageContaining(LeakingFixture.class.getName())
                  .hasMessageContaining("fixture#");
            });
    assertThat(LeakReports.drain()).as("the failure took the fixture's leak").isEmpty();
  }

  private static TestExecutionSummary run(Class<?> testClass) {
    LauncherDiscoveryRequest request =
        LauncherDiscoveryRequestBuilder.request()
            .selectors(selectClass(testClass))
            .filters(EngineFilter.includeEngines("junit-jupiter"))
            .configurationParameter("junit.jupiter.extensions.autodetection.enabled", "true")
            .build();
    SummaryGeneratingListener listener = new SummaryGeneratingListener();
    LauncherFactory.create().execute(request, listener);
    return listener.getSummary();
  }

  private static void dropUnreleased(ByteBufAllocator alloc, String marker) {
    ByteBuf buf = alloc.buffer(32);
    buf.writeLong(7).touch(marker);
  }

  private static void dropUnreleasedSlice(String marker) {
    ByteBuf read = PooledByteBufAllocator.DEFAULT.directBuffer(64).touch(marker);
    ByteBuf frame = read.retainedSlice(0, 8).touch(marker);
    assertThat(read.release()).as("the slice keeps the buffer alive").isFalse();
    assertThat(frame.refCnt()).isOne();
  }

  /** Run only by {@link #aTestClassThatLeaksFails}, never on its own (the build skips it too). */
  static final class LeakingFixture {
    static volatile String marker;

    @Test
    void leaksOneBuffer() {
      Assumptions.assumeTrue(marker != null, "run only from NettyLeakCheckTest");
      LeakReports.leak(marker);
    }
  }
}
