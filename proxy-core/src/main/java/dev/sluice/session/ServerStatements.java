package dev.sluice.session;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The prepared statements one backend holds under Sluice-chosen names, least recently used first,
 * bounded by {@code --max-prepared-statements}. A lookup promotes the statement. Adding beyond the
 * bound evicts the least recently used one; its name goes to {@link #takeEvicted()} so the caller
 * can close it on the server at a safe point (after the Sync of the batch that may still use it),
 * never in the middle of a batch.
 *
 * <p>Names are never reused on a backend ({@code s1}, {@code s2}, ... with a Sluice prefix), so a
 * statement whose Close was lost can never collide with a later one. Not thread-safe: the holder of
 * the backend uses it.
 */
public final class ServerStatements {
  private static final String PREFIX = "sluice_";

  private final int capacity;
  private final StatementGenerations generations;
  private final LinkedHashMap<StatementKey, Entry> byKey = new LinkedHashMap<>(16, 0.75f, true);
  private final List<String> evicted = new ArrayList<>();
  private long nextId;
  private long evictions;

  /** A statement held here: its name and the generation it was prepared in. */
  private record Entry(String name, long generation) {}

  public ServerStatements(int capacity) {
    this(capacity, new StatementGenerations());
  }

  /**
   * @param generations shared by the backends of one pool: see {@link StatementGenerations}
   */
  public ServerStatements(int capacity, StatementGenerations generations) {
    if (capacity < 1) {
      throw new IllegalArgumentException("capacity must be >= 1");
    }
    this.capacity = capacity;
    this.generations = generations;
  }

  /**
   * The server-side name of {@code key} on this backend, or null; promotes it when found. A copy
   * from an older generation (another backend found its plan stale) counts as absent: it is closed
   * with the next evictions, and the caller prepares the statement afresh.
   */
  public String lookup(StatementKey key) {
    Entry e = byKey.get(key);
    if (e == null) {
      return null;
    }
    if (e.generation() != generations.of(key)) {
      byKey.remove(key);
      evicted.add(e.name());
      return null;
    }
    return e.name();
  }

  /** Records that {@code key} is being prepared here and returns the name to prepare it under. */
  public String add(StatementKey key) {
    String name = PREFIX + (++nextId);
    byKey.put(key, new Entry(name, generations.of(key)));
    if (byKey.size() > capacity) {
      Iterator<Map.Entry<StatementKey, Entry>> it = byKey.entrySet().iterator();
      Map.Entry<StatementKey, Entry> eldest = it.next();
      it.remove();
      evicted.add(eldest.getValue().name());
      evictions++;
    }
    return name;
  }

  /** Forgets {@code key} (its Parse failed, or it was dropped after an error). */
  public void remove(StatementKey key) {
    byKey.remove(key);
  }

  /**
   * Forgets {@code key} and closes its statement with the next evictions: the server's copy is
   * stale (its plan no longer matches the tables), so the next use prepares it afresh.
   */
  public void discard(StatementKey key) {
    Entry e = byKey.remove(key);
    if (e != null) {
      evicted.add(e.name());
    }
  }

  /**
   * The server's copy of {@code key} here no longer fits its tables, so no backend's copy does:
   * this one is closed, and every other backend of the pool prepares it afresh at its next use.
   */
  public void discardEverywhere(StatementKey key) {
    generations.invalidate(key);
    discard(key);
  }

  /**
   * The backend becomes one client's alone (the client is pinned to it): every statement Sluice
   * prepared here for the pool is closed with the next evictions, so the client finds its session
   * as its own; its own statements are prepared again when it next uses them.
   */
  public void retireAll() {
    byKey.values().forEach(e -> evicted.add(e.name()));
    byKey.clear();
  }

  /** Names evicted since the last call, to be closed on the server. */
  public List<String> takeEvicted() {
    if (evicted.isEmpty()) {
      return List.of();
    }
    List<String> out = List.copyOf(evicted);
    evicted.clear();
    return out;
  }

  public boolean hasEvicted() {
    return !evicted.isEmpty();
  }

  /** The server dropped everything (DISCARD ALL, DEALLOCATE ALL). */
  public void clear() {
    byKey.clear();
    evicted.clear();
  }

  public int size() {
    return byKey.size();
  }

  public long evictions() {
    return evictions;
  }
}
