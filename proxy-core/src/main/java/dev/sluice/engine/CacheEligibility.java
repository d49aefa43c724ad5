package dev.sluice.engine;

import dev.sluice.cache.CacheDecision;
import dev.sluice.cache.ResultCache;
import dev.sluice.protocol.backend.ReadyForQuery;
import dev.sluice.session.sql.Classification;
import dev.sluice.session.sql.Effect;

/**
 * When a session's request may meet the result cache, and the session's part of its key: a request
 * is looked up only at a boundary (nothing of the client's in flight, no transaction open) while
 * the session's settings are known, which in transaction mode means not pinned and in session mode
 * that it has changed no setting Sluice cannot follow.
 *
 * <p>Not thread-safe: the client's event loop owns it.
 */
final class CacheEligibility {
  private final ClientSession s;
  private final String database;
  private final String user;
  private String context;
  private long contextVersion = -1;

  /** Session mode: the client changed session state, so its settings are not known. */
  private boolean stateChanged;

  CacheEligibility(ClientSession s, String database, String user) {
    this.s = s;
    this.database = database;
    this.user = user;
  }

  /** A simple Query's effects on session state, as it goes by. */
  void observe(Classification c) {
    if (!s.transactionMode && !c.isPlain() && !followed(c)) {
      stateChanged = true;
    }
  }

  /** Null when a request arriving now may be looked up; otherwise why not. */
  CacheDecision blocked() {
    if (s.transactionMode ? s.gate.pinned() : stateChanged) {
      return CacheDecision.SESSION_STATE;
    }
    boolean unlinked = s.machine.is(ClientState.IDLE) && s.server == null && !s.unlinkedSkip;
    boolean linkedAndQuiet =
        s.machine.is(ClientState.ACTIVE) && s.inFlight.freshBatch() && s.inFlight.quiet();
    if (s.queue.isEmpty() && (unlinked || linkedAndQuiet)) {
      return null;
    }
    return s.inFlight.txStatus() != ReadyForQuery.IDLE
        ? CacheDecision.TRANSACTION
        : CacheDecision.PROTOCOL;
  }

  /**
   * Session mode: whether Sluice still knows the session's settings after this statement. It does
   * when the statement only sets {@code application_name} (not part of the key) or settings the
   * server reports (their new values arrive as ParameterStatus and change the key).
   */
  private boolean followed(Classification c) {
    for (Effect e : c.effects()) {
      if (!(e instanceof Effect.TrackedSet t)
          || !(t.name().equals("application_name")
              || s.pool.reportedSettings().contains(t.name()))) {
        return false;
      }
    }
    return true;
  }

  /**
   * Extended batches are looked up in transaction mode, and in session mode once linked (so that
   * the unnamed statement a hit kept from the backend can be restored on it).
   */
  boolean extendedAllowed() {
    return s.transactionMode || s.machine.is(ClientState.ACTIVE);
  }

  /** The session's part of the key: database, user and settings; remade when they change. */
  String context() {
    long v = s.params.version();
    if (context == null || v != contextVersion) {
      context = ResultCache.context(database, user, s.params.desired());
      contextVersion = v;
    }
    return context;
  }

  boolean standardConformingStrings() {
    return !"off".equalsIgnoreCase(s.params.desired().get("standard_conforming_strings"));
  }
}
