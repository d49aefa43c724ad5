package dev.sluice.engine;

import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/** Counters of one running Sluice, updated from any event loop. */
public final class ProxyStats {
  /** One line for the log: every counter, no query text. */
  public String summary() {
    return "backend logins="
        + backendLogins.sum()
        + ", parses client="
        + clientParses.sum()
        + " server="
        + serverParses.sum()
        + ", evictions="
        + evictions.sum()
        + ", pins="
        + pins.sum()
        + ", rejections="
        + rejections.sum()
        + ", plan retries="
        + retries.sum()
        + (bugs.sum() == 0 ? "" : ", BROKEN INVARIANTS=" + bugs.sum());
  }

  /**
   * Times Sluice found its own bookkeeping wrong (a backend released while the client still owed an
   * answer): a bug, logged as an error and failed on in tests. Should stay 0.
   */
  public final LongAdder bugs = new LongAdder();

  /** How long the latest backend login took (TCP, TLS, authentication), ms; -1 before any. */
  public final java.util.concurrent.atomic.AtomicLong lastLoginMillis =
      new java.util.concurrent.atomic.AtomicLong(-1);

  /** Backend logins that succeeded (new backend connections). */
  public final LongAdder backendLogins = new LongAdder();

  /** Named Parse messages clients sent (transaction mode). */
  public final LongAdder clientParses = new LongAdder();

  /** Parse messages Sluice sent to backends to create server-side statements. */
  public final LongAdder serverParses = new LongAdder();

  /** Server-side statements closed because a backend's LRU was full. */
  public final LongAdder evictions = new LongAdder();

  /** Clients pinned to their backend for the rest of their session. */
  public final LongAdder pins = new LongAdder();

  /**
   * Batches run again after "cached plan must not change result type" (the statement was prepared
   * afresh first).
   */
  public final LongAdder retries = new LongAdder();

  /** Idle backends that failed their check before reuse and were replaced. */
  public final LongAdder failedChecks = new LongAdder();

  /** Batches sent again on another backend after their backend went away (a ReplayPolicy). */
  public final LongAdder replays = new LongAdder();

  /** Statements refused because they would leave session state (--session-state reject). */
  public final LongAdder rejections = new LongAdder();

  /** Client connections closed, by reason; filled once, so reads need no lock. */
  private final Map<CloseReason, LongAdder> clientCloses = adderPerReason();

  private static Map<CloseReason, LongAdder> adderPerReason() {
    Map<CloseReason, LongAdder> m = new EnumMap<>(CloseReason.class);
    for (CloseReason r : CloseReason.values()) {
      m.put(r, new LongAdder());
    }
    return m;
  }

  /** Counts one client connection closed for {@code reason}. */
  public void clientClosed(CloseReason reason) {
    clientCloses.get(reason).increment();
  }

  /** Client connections closed for {@code reason} so far. */
  public LongAdder clientCloses(CloseReason reason) {
    return clientCloses.get(reason);
  }

  /**
   * Client connections that ended in an error (a {@linkplain CloseReason#notable() notable} reason:
   * refused logins, protocol violations, lost servers, limits), as opposed to clients that left or
   * a shutdown.
   */
  public long clientErrors() {
    long n = 0;
    for (CloseReason r : CloseReason.values()) {
      if (r.notable()) {
        n += clientCloses.get(r).sum();
      }
    }
    return n;
  }
}
