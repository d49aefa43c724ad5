package dev.sluice.cache;

/**
 * One stored answer: the exact frames the backend sent the client, short of the ReadyForQuery, and
 * what it was read under (the versions of the tables it read), so a write since makes it unusable.
 */
public final class CacheEntry {
  private final byte[] frames;
  private final CacheFill.Snapshot versions;
  private final long storedNanos;
  private final long freshUntilNanos;
  private final long staleUntilNanos;
  private volatile boolean refreshing;

  CacheEntry(
      byte[] frames,
      CacheFill.Snapshot versions,
      long storedNanos,
      long freshUntilNanos,
      long staleUntilNanos) {
    this.frames = frames;
    this.versions = versions;
    this.storedNanos = storedNanos;
    this.freshUntilNanos = freshUntilNanos;
    this.staleUntilNanos = staleUntilNanos;
  }

  /** The frames; never modify. */
  public byte[] frames() {
    return frames;
  }

  CacheFill.Snapshot versions() {
    return versions;
  }

  long storedNanos() {
    return storedNanos;
  }

  boolean fresh(long now) {
    return now - freshUntilNanos < 0;
  }

  boolean usable(long now) {
    return now - staleUntilNanos < 0;
  }

  long staleUntilNanos() {
    return staleUntilNanos;
  }

  /** Claims the one refresh of a stale entry; false when another session has it. */
  synchronized boolean claimRefresh() {
    if (refreshing) {
      return false;
    }
    refreshing = true;
    return true;
  }

  int weight() {
    return frames.length + 96;
  }
}
