package dev.sluice.server.invalidation;

import dev.sluice.cache.CacheInvalidation;
import dev.sluice.error.SafeErrors;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.slf4j.Logger;

/**
 * The thread, states and counters that both invalidation sources share: connect, subscribe, pump
 * until the connection fails, flush the database, back off, and again, until closed.
 *
 * <p>The flush rule: the database is invalidated when a subscription is lost (changes may be missed
 * from that moment) and again each time one is established (changes made while there was none, or
 * before the first, were missed; entries cached meanwhile may hold them). Between the two the
 * cache's entries are bounded by their max-age only.
 *
 * <p>Each loss and each recovery is logged once; the failed attempts in between only at DEBUG.
 * Errors are rendered with {@link SafeErrors#describe}. Nothing escapes the thread.
 */
final class SourceRunner {
  /** One connection's life; a fresh one is made for every attempt. */
  interface Feed {
    /** Connects and subscribes: changes committed from now on will be delivered. */
    void subscribe() throws Exception;

    /** Delivers changes until the connection fails or is aborted; only returns by throwing. */
    void pump() throws Exception;

    /** Wakes a blocked {@link #subscribe} or {@link #pump} from another thread. */
    void abort();

    /** Releases what {@link #subscribe} opened; on the reading thread; never throws. */
    void close();
  }

  private static final Duration JOIN_LIMIT = Duration.ofSeconds(30);

  private final String source;
  private final String database;
  private final String what;
  private final CacheInvalidation sink;
  private final Backoff backoff;
  private final Supplier<Feed> feeds;
  private final Logger log;
  private final Clock clock;
  private final CountDownLatch stopSignal = new CountDownLatch(1);
  private final Object lock = new Object();

  private final AtomicLong invalidations = new AtomicLong();
  private final AtomicLong flushes = new AtomicLong();
  private final AtomicLong reconnects = new AtomicLong();

  // Guarded by lock.
  private Thread thread;
  private Feed current;
  private boolean stopping;
  private SourceState state = SourceState.STARTING;
  private Instant since;
  private String lastError;
  private String slot;
  private Duration lag;

  // Reading thread only.
  private int failedAttempts;
  private Instant lostAt;

  /**
   * @param source {@code notify} or {@code wal}, as in the status
   * @param what the subscription in words, for the log: {@code NOTIFY channel "x" of db}
   */
  SourceRunner(
      String source,
      String database,
      String what,
      CacheInvalidation sink,
      Backoff backoff,
      Supplier<Feed> feeds,
      Logger log,
      Clock clock) {
    this.source = source;
    this.database = database;
    this.what = what;
    this.sink = sink;
    this.backoff = backoff;
    this.feeds = feeds;
    this.log = log;
    this.clock = clock;
    this.since = clock.instant();
  }

  void start() {
    synchronized (lock) {
      if (thread != null) {
        throw new IllegalStateException(what + " already started");
      }
      if (stopping) {
        throw new IllegalStateException(what + " is closed");
      }
      thread = new Thread(this::run, "sluice-cache-" + source);
      thread.setDaemon(true);
      thread.start();
    }
  }

  void close() {
    Thread t;
    Feed feed;
    synchronized (lock) {
      if (stopping) {
        return;
      }
      stopping = true;
      t = thread;
      feed = current;
    }
    stopSignal.countDown();
    if (feed != null) {
      feed.abort();
    }
    if (t != null) {
      try {
        t.join(JOIN_LIMIT.toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      if (t.isAlive()) {
        log.warn("{}: the reading thread did not end within {}", what, JOIN_LIMIT);
      }
    }
    transition(SourceState.STOPPED, null);
  }

  InvalidationStatus status() {
    synchronized (lock) {
      return new InvalidationStatus(
          source,
          state,
          since,
          lastError,
          invalidations.get(),
          flushes.get(),
          reconnects.get(),
          slot,
          lag);
    }
  }

  boolean stopping() {
    synchronized (lock) {
      return stopping;
    }
  }

  /** Tables changed: tells the cache; if the cache fails, flushes the database instead. */
  void deliver(Collection<String> tables) {
    invalidations.addAndGet(tables.size());
    try {
      sink.tables(database, tables);
    } catch (RuntimeException e) {
      log.warn("{}: the cache refused a table invalidation: {}", what, SafeErrors.describe(e));
      flush();
    }
  }

  /** Anything in the database may have changed. */
  void flush() {
    flushes.incrementAndGet();
    try {
      sink.database(database);
    } catch (RuntimeException e) {
      log.warn("{}: the cache refused a database invalidation: {}", what, SafeErrors.describe(e));
    }
  }

  void slot(String name) {
    synchronized (lock) {
      slot = name;
    }
  }

  void lag(Duration measured) {
    synchronized (lock) {
      lag = measured;
    }
  }

  private void run() {
    try {
      loop();
    } catch (RuntimeException | Error e) {
      // A bug, not a connection problem: say so and stop rather than spin.
      log.error("{}: stopped by an unexpected failure: {}", what, SafeErrors.describe(e));
      if (!stopping()) {
        flush();
        transition(SourceState.UNAVAILABLE, "internal error: " + SafeErrors.describe(e));
      }
    }
    // STOPPED is set by close(); an UNAVAILABLE source keeps saying why until then.
  }

  private void loop() {
    while (true) {
      Feed feed = feeds.get();
      synchronized (lock) {
        if (stopping) {
          return;
        }
        current = feed;
      }
      try {
        feed.subscribe();
        if (stopping()) {
          return;
        }
        subscribed();
        feed.pump();
        throw new IllegalStateException("pump returned without a failure");
      } catch (SourceUnavailableException e) {
        unavailable(e.getMessage());
        return;
      } catch (Exception e) {
        if (stopping()) {
          return;
        }
        failed(e);
      } finally {
        synchronized (lock) {
          current = null;
        }
        feed.close();
      }
      if (waitBeforeRetry()) {
        return;
      }
    }
  }

  private void subscribed() {
    SourceState before = status().state();
    // Flushed before STREAMING shows, so that whoever sees STREAMING sees the flush too.
    flush();
    transition(SourceState.STREAMING, null);
    if (lostAt != null) {
      reconnects.incrementAndGet();
      log.info(
          "{}: resubscribed {} ms after the loss ({} failed attempts); database invalidated again",
          what,
          Duration.between(lostAt, clock.instant()).toMillis(),
          failedAttempts);
    } else if (before == SourceState.RECONNECTING) {
      log.info("{}: subscribed after {} failed attempts", what, failedAttempts);
    } else {
      log.info("{}: subscribed", what);
    }
    failedAttempts = 0;
    lostAt = null;
    backoff.reset();
  }

  private void failed(Exception e) {
    String error = describe(e);
    if (status().state() == SourceState.STREAMING) {
      lostAt = clock.instant();
      failedAttempts = 0;
      flush();
      log.warn("{}: connection lost ({}); database invalidated, reconnecting", what, error);
    } else if (++failedAttempts == 1 && lostAt == null) {
      log.warn("{}: cannot subscribe ({}); retrying with backoff", what, error);
    } else {
      log.debug("{}: attempt {} failed: {}", what, failedAttempts, error);
    }
    transition(SourceState.RECONNECTING, error);
  }

  private void unavailable(String reason) {
    log.warn("{}: off: {}", what, reason);
    transition(SourceState.UNAVAILABLE, reason);
  }

  /** One line; a server's error with its SQLSTATE, which says more than its words. */
  static String describe(Exception e) {
    String text = SafeErrors.describe(e);
    return e instanceof SQLException sql && sql.getSQLState() != null
        ? text + " [SQLSTATE " + sql.getSQLState() + "]"
        : text;
  }

  /** Sleeps the next backoff; true when closed meanwhile. */
  private boolean waitBeforeRetry() {
    try {
      return stopSignal.await(backoff.next().toNanos(), TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return true;
    }
  }

  private void transition(SourceState next, String error) {
    synchronized (lock) {
      if (state == next && next != SourceState.RECONNECTING) {
        return;
      }
      if (!state.canBecome(next)) {
        throw new IllegalStateException(what + ": " + state + " cannot become " + next);
      }
      if (state != next) {
        since = clock.instant();
      }
      state = next;
      if (error != null) {
        lastError = error;
      }
      if (next != SourceState.STREAMING) {
        slot = null;
      }
    }
  }
}
