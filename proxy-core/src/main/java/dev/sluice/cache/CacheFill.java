package dev.sluice.cache;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;

/**
 * One backend execution whose answer the cache will keep: the frames the client is sent, copied as
 * they pass, then stored when the answer ends cleanly. Other sessions missing the same key
 * meanwhile wait for it ({@link #whenDone}) instead of running the statement again.
 *
 * <p>Only the frames of a result are kept: ParseComplete, BindComplete, ParameterDescription,
 * RowDescription, NoData, DataRow, CommandComplete, EmptyQueryResponse. Anything else (an error, a
 * notice, a notification, a parameter change) means the answer is not stored.
 */
public final class CacheFill {
  private static final long ALLOWED = bits("123tTnDCI");

  private final ResultCache cache;
  private final CacheKey key;
  private final Snapshot versions;
  private final long ttlNanos;
  private final long startedNanos;
  private final List<Consumer<CacheEntry>> waiters = new ArrayList<>();
  private byte[] bytes = new byte[256];
  private int size;
  private boolean failed;
  private boolean oversized;
  private boolean done;
  private CacheEntry result;

  CacheFill(ResultCache cache, CacheKey key, Snapshot versions, long ttlNanos, long now) {
    this.cache = cache;
    this.key = key;
    this.versions = versions;
    this.ttlNanos = ttlNanos;
    this.startedNanos = now;
  }

  /**
   * What an answer was read under.
   *
   * @param tables {@code database\0table} of each table read
   * @param versions their versions before the statement ran
   */
  record Snapshot(String[] tables, long[] versions, long databaseEpoch, long globalEpoch) {}

  private static long bits(String types) {
    long b = 0;
    for (char c : types.toCharArray()) {
      b |= 1L << (c - '0');
    }
    return b;
  }

  long startedNanos() {
    return startedNanos;
  }

  /**
   * Room for a message of type {@code type} and {@code length} bytes that the client is sent: the
   * offset in {@link #buffer()} to copy it to, then {@link #commit}; -1 when it is not kept (the
   * answer will not be stored).
   */
  public int reserve(byte type, int length) {
    if (failed || oversized) {
      return -1;
    }
    int t = type - '0';
    if (t < 0 || t >= 64 || (ALLOWED & (1L << t)) == 0) {
      failed = true;
      return -1;
    }
    if ((long) size + length > cache.maxEntryBytes()) {
      oversized = true;
      bytes = null;
      return -1;
    }
    if (size + length > bytes.length) {
      bytes = Arrays.copyOf(bytes, Math.max(size + length, bytes.length * 2));
    }
    return size;
  }

  /** Where {@link #reserve} said to copy. */
  public byte[] buffer() {
    return bytes;
  }

  /** The reserved bytes are copied in. */
  public void commit(int length) {
    size += length;
  }

  /**
   * The answer ended: with ReadyForQuery {@code idleAfter} (status 'I') it is stored unless it
   * failed; otherwise, or when the session or its backend went away ({@code idleAfter} false), it
   * is dropped. Waiters hear either way.
   */
  public void end(boolean idleAfter) {
    List<Consumer<CacheEntry>> toTell;
    synchronized (this) {
      if (done) {
        return;
      }
      done = true;
      if (idleAfter && !failed && !oversized) {
        result = cache.store(key, Arrays.copyOf(bytes, size), versions, ttlNanos);
      } else if (oversized) {
        cache.decisions().record(CacheDecision.RESULT_TOO_LARGE);
      }
      bytes = null;
      toTell = List.copyOf(waiters);
      waiters.clear();
    }
    cache.fillDone(key, this);
    for (Consumer<CacheEntry> w : toTell) {
      w.accept(result);
    }
  }

  /**
   * Calls {@code then} once the fill ends, with the stored entry or null when nothing was stored;
   * at once (on this thread) if it has ended already.
   */
  public void whenDone(Consumer<CacheEntry> then) {
    synchronized (this) {
      if (!done) {
        waiters.add(then);
        return;
      }
    }
    then.accept(result);
  }
}
