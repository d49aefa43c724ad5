package dev.sluice.server.invalidation;

import dev.sluice.cache.CacheInvalidation;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.function.Predicate;

/** A cache that only writes down what it is told, when, and lets tests wait for it. */
final class RecordingInvalidation implements CacheInvalidation {
  enum Kind {
    TABLES,
    DATABASE,
    ALL
  }

  record Event(long nanos, Kind kind, String database, List<String> tables) {
    boolean names(String table) {
      return kind == Kind.TABLES && tables.contains(table);
    }
  }

  private final List<Event> events = new ArrayList<>();

  @Override
  public synchronized void tables(String database, Collection<String> tables) {
    add(new Event(System.nanoTime(), Kind.TABLES, database, List.copyOf(tables)));
  }

  @Override
  public synchronized void database(String database) {
    add(new Event(System.nanoTime(), Kind.DATABASE, database, List.of()));
  }

  @Override
  public synchronized void all() {
    add(new Event(System.nanoTime(), Kind.ALL, null, List.of()));
  }

  private void add(Event e) {
    events.add(e);
    notifyAll();
  }

  /** How many events so far: an index to wait from. */
  synchronized int size() {
    return events.size();
  }

  synchronized List<Event> since(int from) {
    return List.copyOf(events.subList(from, events.size()));
  }

  /**
   * The first event at index {@code from} or later that matches; waits up to {@code timeout}.
   *
   * @throws AssertionError naming {@code what} and the events seen when none came in time
   */
  Event await(int from, Predicate<Event> match, Duration timeout, String what)
      throws InterruptedException {
    synchronized (this) {
      return events.get(awaitIndex(from, match, timeout, what));
    }
  }

  /** As {@link #await}, but the index of the event: the next search starts after it. */
  synchronized int awaitIndex(int from, Predicate<Event> match, Duration timeout, String what)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    int next = from;
    while (true) {
      for (; next < events.size(); next++) {
        if (match.test(events.get(next))) {
          return next;
        }
      }
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        throw new AssertionError(
            "no " + what + " within " + timeout + "; saw " + events.subList(from, events.size()));
      }
      wait(Math.max(1, left / 1_000_000));
    }
  }
}
