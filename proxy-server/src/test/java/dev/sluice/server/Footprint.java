package dev.sluice.server;

import dev.sluice.testing.LeakReports;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
import io.netty.util.internal.PlatformDependent;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * What this JVM holds once it is quiet, for a soak to compare before and after: the heap in use
 * after garbage collection, Netty's direct memory, the JVM's direct buffers, open file descriptors
 * and live threads.
 *
 * @param heapAfterGc bytes of heap in use once collections stop freeing more
 * @param nettyDirect Netty's direct memory: its own counter when it keeps one, otherwise the
 *     default allocator's (the one every channel uses)
 * @param jvmDirect the JVM's {@code direct} buffer pool (NIO's buffers and Netty's alike)
 * @param unreleasedBuffers Netty buffers alive, whatever their allocator caches (see {@link
 *     LeakReports#unreleasedBuffers()})
 * @param openFiles entries of {@code /proc/self/fd}: sockets, epoll and event descriptors, jars
 * @param threads live threads
 */
record Footprint(
    long heapAfterGc,
    long nettyDirect,
    long jvmDirect,
    long unreleasedBuffers,
    long openFiles,
    int threads) {
  /** A collection that frees less than this share of the heap in use means the heap has settled. */
  private static final double SETTLED = 0.005;

  private static final int MAX_COLLECTIONS = 20;

  static Footprint measure() {
    return new Footprint(
        collectedHeap(),
        nettyDirectMemory(),
        jvmDirectBuffers(),
        LeakReports.unreleasedBuffers(),
        fileDescriptors(),
        ManagementFactory.getThreadMXBean().getThreadCount());
  }

  /**
   * Collects until a collection frees next to nothing more: objects reachable only through
   * references that other threads clear after a collection (Cleaner, Netty's leak detector) go in
   * the rounds after the first.
   */
  private static long collectedHeap() {
    MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
    long previous = Long.MAX_VALUE;
    for (int i = 0; i < MAX_COLLECTIONS; i++) {
      System.gc();
      long used = memory.getHeapMemoryUsage().getUsed();
      if (used >= previous - (long) (previous * SETTLED)) {
        return Math.min(used, previous);
      }
      previous = used;
      Thread.yield();
    }
    return previous;
  }

  private static long nettyDirectMemory() {
    long counted = PlatformDependent.usedDirectMemory();
    if (counted >= 0) {
      return counted;
    }
    return ByteBufAllocator.DEFAULT instanceof ByteBufAllocatorMetricProvider provider
        ? provider.metric().usedDirectMemory()
        : -1;
  }

  private static long jvmDirectBuffers() {
    return ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class).stream()
        .filter(pool -> pool.getName().equals("direct"))
        .mapToLong(BufferPoolMXBean::getMemoryUsed)
        .sum();
  }

  private static long fileDescriptors() {
    try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
      return fds.count();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list /proc/self/fd", e);
    }
  }

  /** {@code after} against this, one figure per item: {@code heap after GC 41.2 MB -> 41.9 MB}. */
  String compare(Footprint after) {
    return String.join(
        ", ",
        "heap after GC " + change(heapAfterGc, after.heapAfterGc),
        "Netty direct " + change(nettyDirect, after.nettyDirect),
        "JVM direct buffers " + change(jvmDirect, after.jvmDirect),
        "unreleased Netty buffers " + unreleasedBuffers + " -> " + after.unreleasedBuffers,
        "open fds " + openFiles + " -> " + after.openFiles,
        "threads " + threads + " -> " + after.threads);
  }

  private static String change(long before, long after) {
    String delta =
        before > 0
            ? String.format(Locale.ROOT, " (%+.1f%%)", 100.0 * (after - before) / before)
            : "";
    return mb(before) + " -> " + mb(after) + delta;
  }

  static String mb(long bytes) {
    return String.format(Locale.ROOT, "%.2f MB", bytes / (1024.0 * 1024.0));
  }
}
