package dev.sluice.pool;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.LongSupplier;

/**
 * The open connections of one {@link ConnectionPool}, each in exactly one state: {@code IDLE} (in
 * the idle deque, most recently used first) or {@code ACTIVE} (handed to a client). A connection's
 * state is its membership here, changed only in {@link #moveTo}, so the counts are true by
 * construction.
 *
 * <p>Not thread-safe and holds no lock of its own: the pool calls it only under its monitor, which
 * also guards the connects in progress, so the pool alone keeps {@code open + connecting ≤
 * maxSize}.
 */
final class PoolMembers<C extends PooledConnection> {

  enum State {
    IDLE,
    ACTIVE
  }

  /** What the pool knows of one open connection. */
  static final class Entry {
    final long createdNanos;
    final long expiresNanos;
    final long idleLimitNanos;
    final long generation;
    State state = State.ACTIVE;
    long idleSinceNanos;

    Entry(long created, long lifetime, long idleLimit, long generation) {
      this.createdNanos = created;
      this.expiresNanos = created + lifetime;
      this.idleLimitNanos = idleLimit;
      this.generation = generation;
    }

    /**
     * A new connection's entry. Lifetime and idle limit are shortened by up to a tenth at random,
     * so connections opened together do not expire in lockstep.
     */
    static Entry jittered(long now, PoolSettings settings, long generation) {
      ThreadLocalRandom r = ThreadLocalRandom.current();
      long lifetime = settings.lifetime().toNanos();
      long idleLimit = settings.idleTimeout().toNanos();
      return new Entry(
          now,
          lifetime - (long) (lifetime * 0.1 * r.nextDouble()),
          idleLimit - (long) (idleLimit * 0.1 * r.nextDouble()),
          generation);
    }
  }

  private final LongSupplier nanoClock;
  private final Map<C, Entry> entries = new HashMap<>();
  private final ArrayDeque<C> idle = new ArrayDeque<>();
  private int active;

  PoolMembers(LongSupplier nanoClock) {
    this.nanoClock = nanoClock;
  }

  /** Open connections, idle or handed out. */
  int open() {
    return entries.size();
  }

  int active() {
    return active;
  }

  int idle() {
    return idle.size();
  }

  List<C> all() {
    return List.copyOf(entries.keySet());
  }

  /** The entry of {@code c}, or null if the pool does not know it (any more). */
  Entry entry(C c) {
    return entries.get(c);
  }

  boolean contains(C c) {
    return entries.containsKey(c);
  }

  /** A newly opened connection, counted as handed out until {@link #moveTo} says otherwise. */
  void addActive(C c, Entry e) {
    entries.put(c, e);
    active++;
  }

  /**
   * Takes an open idle connection out of the deque, preferring one on {@code affinity} (the
   * caller's event loop), otherwise the most recently used; null if none. The caller moves it to
   * {@code ACTIVE}.
   */
  C takeIdle(Object affinity) {
    C pick = null;
    for (C c : idle) {
      if (!c.isOpen()) {
        continue;
      }
      if (c.affinity() == affinity) {
        pick = c;
        break;
      }
      if (pick == null) {
        pick = c;
      }
    }
    if (pick != null) {
      idle.remove(pick);
    }
    return pick;
  }

  /** The single place where an open connection's state and the counts change. */
  void moveTo(C c, State to) {
    Entry e = entries.get(c);
    if (e.state == State.ACTIVE) {
      active--;
    } else {
      idle.remove(c);
    }
    e.state = to;
    if (to == State.ACTIVE) {
      active++;
    } else {
      e.idleSinceNanos = nanoClock.getAsLong();
      idle.addFirst(c);
    }
  }

  /** Drops {@code c} from the pool (the caller closes it, or it closed by itself). */
  void forget(C c) {
    Entry e = entries.remove(c);
    if (e == null) {
      return;
    }
    if (e.state == State.ACTIVE) {
      active--;
    } else {
      idle.remove(c);
    }
  }

  /** Forgets every idle connection and returns them, for the caller to close. */
  List<C> forgetIdle() {
    List<C> gone = new ArrayList<>(idle);
    gone.forEach(this::forget);
    return gone;
  }

  /**
   * Forgets and returns the idle connections past their lifetime, closed, or, beyond {@code
   * minIdle}, idle too long. Oldest-idle first, so the ones kept are the most recently used.
   */
  List<C> forgetStale(long now, int minIdle) {
    List<C> gone = new ArrayList<>();
    Iterator<C> it = idle.descendingIterator();
    while (it.hasNext()) {
      C c = it.next();
      Entry e = entries.get(c);
      boolean expired = now - e.expiresNanos >= 0;
      boolean idleTooLong =
          idle.size() - gone.size() > minIdle && now - e.idleSinceNanos - e.idleLimitNanos >= 0;
      if (expired || idleTooLong || !c.isOpen()) {
        gone.add(c);
      }
    }
    gone.forEach(this::forget);
    return gone;
  }

  /**
   * Forgets and returns idle connections, oldest-idle first, until no more than {@code limit} are
   * open (or none is idle).
   */
  List<C> forgetIdleAbove(int limit) {
    List<C> gone = new ArrayList<>();
    Iterator<C> it = idle.descendingIterator();
    while (it.hasNext() && entries.size() - gone.size() > limit) {
      gone.add(it.next());
    }
    gone.forEach(this::forget);
    return gone;
  }
}
