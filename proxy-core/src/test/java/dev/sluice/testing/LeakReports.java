package dev.sluice.testing;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import io.netty.util.ResourceLeakDetectorFactory;
import io.netty.util.ResourceLeakTracker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * Netty's leak reports, recorded so that a test run can fail on them instead of only logging them.
 *
 * <p>Netty learns of a leak only when the garbage collector has collected a buffer that was never
 * released, and says so only when its detector next tracks an allocation. {@link #install()} puts a
 * {@link ResourceLeakDetectorFactory} in place whose detectors record every report (and still log
 * it); it must run before Netty creates its ByteBuf detector, which {@link NettyLeakCheck} does by
 * being loaded with the test engine. {@link #collect(Duration)} then makes the reports appear: it
 * leaks a sentinel buffer of its own and collects garbage, allocating as it goes, until the
 * sentinel's report arrives, proving that every buffer unreachable before it has been reported too.
 *
 * <p>A test that leaks on purpose marks its buffer with {@link #expectedMarker(String)} ({@code
 * buf.touch(marker)}): such a leak is recorded without the alarming log line, and the test takes it
 * back with {@link #claim(String)}.
 *
 * <p>The detectors also count the buffers not released yet ({@link #unreleasedBuffers()}): a figure
 * that does not depend on how an allocator caches its memory, for tests that compare before and
 * after.
 */
public final class LeakReports {
  /** One leak as Netty reported it: the resource type and its access records (may be empty). */
  public record Leak(String resourceType, String records) {
    @Override
    public String toString() {
      return "LEAK of " + resourceType + (records.isEmpty() ? " (no records)" : ":" + records);
    }
  }

  private static final String EXPECTED_PREFIX = "sluice-expected-leak:";
  private static final AtomicLong SEQUENCE = new AtomicLong();
  private static final List<Leak> reported = new ArrayList<>();
  private static final LongAdder tracked = new LongAdder();
  private static final LongAdder released = new LongAdder();
  private static final LongAdder leakedOnPurpose = new LongAdder();
  private static boolean installed;

  private LeakReports() {}

  /**
   * Installs the recording detectors (once per JVM) and makes sure every buffer is tracked with its
   * access records. Netty keeps the detector it creates first for each resource type, so this must
   * run before the first buffer is allocated; {@link #collect} fails if it did not.
   */
  public static synchronized void install() {
    if (installed) {
      return;
    }
    ResourceLeakDetectorFactory.setResourceLeakDetectorFactory(new RecordingFactory());
    if (ResourceLeakDetector.getLevel() != ResourceLeakDetector.Level.PARANOID) {
      // The build sets -Dio.netty.leakDetection.level=paranoid; runs from an IDE may not.
      ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);
    }
    installed = true;
  }

  /** A unique hint for a buffer a test leaks on purpose; see {@link #claim(String)}. */
  public static String expectedMarker(String name) {
    return EXPECTED_PREFIX + name + "#" + SEQUENCE.incrementAndGet();
  }

  /**
   * Makes Netty report every ByteBuf that is unreachable now and was never released: collects
   * garbage and allocates until a sentinel leaked here has been reported.
   *
   * @throws IllegalStateException if the sentinel is not reported within {@code timeout}, that is,
   *     when leak detection is not working (installed too late, say)
   */
  public static void collect(Duration timeout) {
    install();
    String sentinel = expectedMarker("sentinel");
    leak(sentinel);
    long deadline = System.nanoTime() + timeout.toNanos();
    while (claim(sentinel).isEmpty()) {
      if (System.nanoTime() - deadline > 0) {
        throw new IllegalStateException(
            "Netty did not report a deliberately leaked buffer within "
                + timeout.toMillis()
                + " ms (level "
                + ResourceLeakDetector.getLevel()
                + "): leak detection is not working. Was a buffer allocated before "
                + LeakReports.class.getSimpleName()
                + ".install()?");
      }
      System.gc();
      pause(10);
      allocateAndRelease();
    }
    // The collection that freed the sentinel may have freed other buffers whose references the
    // JVM enqueues a moment later: one more round reports those too.
    pause(20);
    allocateAndRelease();
  }

  /** Takes and returns every leak reported so far. */
  public static synchronized List<Leak> drain() {
    List<Leak> all = List.copyOf(reported);
    reported.clear();
    return all;
  }

  /** Takes and returns the leaks whose records contain {@code marker}, leaving the others. */
  public static synchronized List<Leak> claim(String marker) {
    List<Leak> mine = new ArrayList<>();
    reported.removeIf(
        leak -> {
          boolean match = leak.records().contains(marker);
          if (match) {
            mine.add(leak);
          }
          return match;
        });
    return mine;
  }

  /** Allocates a pooled buffer marked with {@code marker} and drops it without releasing it. */
  public static void leak(String marker) {
    ByteBuf buf = PooledByteBufAllocator.DEFAULT.heapBuffer(16);
    buf.writeLong(42).touch(marker);
    leakedOnPurpose.increment();
  }

  /**
   * ByteBufs allocated and not released (yet), those {@link #leak} dropped on purpose left out. At
   * the paranoid level Netty tracks every buffer, so this is every buffer alive in the JVM,
   * wherever its memory comes from; a leaked buffer stays counted, as its memory never returns to
   * its pool.
   */
  public static long unreleasedBuffers() {
    return tracked.sum() - released.sum() - leakedOnPurpose.sum();
  }

  /** A tracked allocation: the moment Netty reports the leaks it has found since the last one. */
  private static void allocateAndRelease() {
    for (int i = 0; i < 4; i++) {
      PooledByteBufAllocator.DEFAULT.heapBuffer(16).release();
      PooledByteBufAllocator.DEFAULT.directBuffer(16).release();
    }
  }

  private static void pause(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while collecting leak reports", e);
    }
  }

  /** Records a report; true when it should also be logged (it was not leaked on purpose). */
  private static synchronized boolean record(String resourceType, String records) {
    reported.add(new Leak(resourceType, records));
    return !records.contains(EXPECTED_PREFIX);
  }

  private static final class RecordingFactory extends ResourceLeakDetectorFactory {
    @Override
    public <T> ResourceLeakDetector<T> newResourceLeakDetector(
        Class<T> resource, int samplingInterval) {
      return new RecordingDetector<>(resource, samplingInterval);
    }

    @Override
    @SuppressWarnings("deprecation") // Netty's abstract hook; maxActive has been ignored for years
    public <T> ResourceLeakDetector<T> newResourceLeakDetector(
        Class<T> resource, int samplingInterval, long maxActive) {
      return new RecordingDetector<>(resource, samplingInterval);
    }
  }

  private static final class RecordingDetector<T> extends ResourceLeakDetector<T> {
    private final boolean buffers;

    RecordingDetector(Class<?> resource, int samplingInterval) {
      super(resource, samplingInterval);
      buffers = ByteBuf.class.isAssignableFrom(resource);
    }

    @Override
    public ResourceLeakTracker<T> track(T obj) {
      return counted(super.track(obj));
    }

    @Override
    public ResourceLeakTracker<T> trackForcibly(T obj) {
      return counted(super.trackForcibly(obj));
    }

    private ResourceLeakTracker<T> counted(ResourceLeakTracker<T> tracker) {
      if (tracker == null || !buffers) {
        return tracker;
      }
      tracked.increment();
      return new CountingTracker<>(tracker);
    }

    /** Report whatever the logging configuration, so a quiet logger cannot hide a leak. */
    @Override
    protected boolean needReport() {
      return true;
    }

    @Override
    protected void reportTracedLeak(String resourceType, String records) {
      if (record(resourceType, records)) {
        super.reportTracedLeak(resourceType, records);
      }
    }

    @Override
    protected void reportUntracedLeak(String resourceType) {
      if (record(resourceType, "")) {
        super.reportUntracedLeak(resourceType);
      }
    }
  }

  /** Counts a buffer released when Netty closes its tracker (once, on the last release). */
  private static final class CountingTracker<T> implements ResourceLeakTracker<T> {
    private final ResourceLeakTracker<T> delegate;

    CountingTracker(ResourceLeakTracker<T> delegate) {
      this.delegate = delegate;
    }

    @Override
    public void record() {
      delegate.record();
    }

    @Override
    public void record(Object hint) {
      delegate.record(hint);
    }

    @Override
    public boolean close(T trackedObject) {
      boolean closed = delegate.close(trackedObject);
      if (closed) {
        released.increment();
      }
      return closed;
    }

    @Override
    public Throwable getCloseStackTraceIfAny() {
      return delegate.getCloseStackTraceIfAny();
    }
  }
}
