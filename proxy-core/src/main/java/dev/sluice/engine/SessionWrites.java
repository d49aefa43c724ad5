package dev.sluice.engine;

import dev.sluice.cache.ResultCache;
import dev.sluice.cache.WriteTargets;
import java.util.HashMap;
import java.util.Map;

/**
 * What one client's statements may have changed since its transaction began, for the result cache:
 * the tables a statement writes are noted when it is sent (a prepared statement's at its Parse,
 * counted at each Bind) and published to the cache when no transaction is open any more, so they
 * reach the cache before the client hears its COMMIT.
 *
 * <p>Not thread-safe: the client's event loop owns it.
 */
final class SessionWrites {
  private final ResultCache cache;
  private final String database;
  private final Map<String, WriteTargets> named = new HashMap<>();
  private WriteTargets unnamed = WriteTargets.none();
  private WriteTargets pending = WriteTargets.none();

  SessionWrites(ResultCache cache, String database) {
    this.cache = cache;
    this.database = database;
  }

  /** A simple Query (or anything run at once) that writes {@code w}. */
  void ran(WriteTargets w) {
    pending = pending.plus(w);
  }

  /** A Parse of {@code name} ("" for the unnamed statement) whose statement writes {@code w}. */
  void parsed(String name, WriteTargets w) {
    if (name.isEmpty()) {
      unnamed = w;
    } else {
      // a name parsed twice: PostgreSQL keeps the first; counting both errs towards more
      named.merge(name, w, WriteTargets::plus);
    }
  }

  /** A Bind of statement {@code name}: its writes happen now. */
  void bound(String name) {
    pending =
        pending.plus(name.isEmpty() ? unnamed : named.getOrDefault(name, WriteTargets.none()));
  }

  /** A call whose effect cannot be known (a FunctionCall message). */
  void unknown() {
    pending = WriteTargets.all();
  }

  /** Publishes what was written, if anything: the transaction is over (or the session). */
  void publish() {
    WriteTargets w = pending;
    if (w.isNone()) {
      return;
    }
    pending = WriteTargets.none();
    if (w.everything()) {
      cache.schemaChanged(database);
    } else {
      cache.tables(database, w.tables());
    }
  }
}
