package dev.sluice.session;

import dev.sluice.error.SqlState;
import java.util.HashMap;
import java.util.Map;

/**
 * One client's protocol-level named prepared statements in transaction pooling, and how each
 * request about them reaches whichever backend serves the client.
 *
 * <p>The client's names are its own: they map to statement keys, and each backend holds the
 * statement under a Sluice name ({@link ServerStatements}), shared by every client that prepares
 * the same key. A Parse the backend already has, and every Close, are answered by Sluice; a Bind or
 * Describe is sent under the backend's name, preparing the statement there first when this backend
 * lacks it. Errors are PostgreSQL's own, for that client alone. Not thread-safe: the client's event
 * loop owns it.
 */
public final class ClientStatements {

  /** What to do with one request about a named statement. */
  public sealed interface Route {
    /** Answer it in the client's place: ParseComplete for a Parse, CloseComplete for a Close. */
    record Answer(StatementKey key) implements Route {}

    /**
     * Send it under {@code serverName}. For a Parse, the Parse itself creates the statement; for a
     * Bind or Describe, {@code prepareFirst} asks for a Parse of {@code key} under that name before
     * it, hidden from the client.
     */
    record Send(String serverName, StatementKey key, boolean prepareFirst) implements Route {}

    /** Refuse it as PostgreSQL would. */
    record Refuse(SqlState state, String message) implements Route {}

    /**
     * The client prepared the statement before a schema change made its result shape stale, and
     * asks for per-column result formats chosen for the old shape: PostgreSQL's 0A000 "cached plan
     * must not change result type", once (the client prepares again, as against PostgreSQL).
     */
    record Stale(StatementKey key) implements Route {}
  }

  /** A client's statement: its key and the generation it was prepared in. */
  private record Entry(StatementKey key, long generation) {}

  private final Map<String, Entry> byName = new HashMap<>();
  private final StatementGenerations generations;

  public ClientStatements() {
    this(new StatementGenerations());
  }

  /**
   * @param generations the pool's (see {@link StatementGenerations})
   */
  public ClientStatements(StatementGenerations generations) {
    this.generations = generations;
  }

  private Entry entry(StatementKey key) {
    return new Entry(key, generations.of(key));
  }

  /** A Parse of {@code key} under the client's {@code name}. */
  public Route parse(String name, StatementKey key, ServerStatements server) {
    if (byName.containsKey(name)) {
      return new Route.Refuse(
          SqlState.DUPLICATE_PREPARED_STATEMENT,
          "prepared statement \"" + name + "\" already exists");
    }
    byName.put(name, entry(key));
    if (server.lookup(key) != null) {
      return new Route.Answer(key);
    }
    return new Route.Send(server.add(key), key, false);
  }

  /** A Describe of the client's statement {@code name}, or a Bind with at most one format. */
  public Route use(String name, ServerStatements server) {
    return use(name, server, false);
  }

  /**
   * A Bind or Describe of the client's statement {@code name}; {@code perColumnFormats}: a Bind
   * whose result formats were chosen column by column for the shape the client last saw.
   */
  public Route use(String name, ServerStatements server, boolean perColumnFormats) {
    Entry e = byName.get(name);
    if (e == null) {
      return new Route.Refuse(
          SqlState.INVALID_SQL_STATEMENT_NAME,
          "prepared statement \"" + name + "\" does not exist");
    }
    StatementKey key = e.key();
    long current = generations.of(key);
    if (e.generation() != current) {
      // Prepared before a schema change: from now on the current shape is the client's.
      byName.put(name, new Entry(key, current));
      if (perColumnFormats) {
        return new Route.Stale(key);
      }
    }
    String serverName = server.lookup(key);
    if (serverName != null) {
      return new Route.Send(serverName, key, false);
    }
    return new Route.Send(server.add(key), key, true);
  }

  /**
   * A Close of the client's statement {@code name}: the client's business only (the server-side
   * statement stays for others until its backend's LRU evicts it). Closing an unknown name is not
   * an error in PostgreSQL either; the answer's key is then null.
   */
  public Route close(String name) {
    Entry e = byName.remove(name);
    return new Route.Answer(e == null ? null : e.key());
  }

  /** Records a statement already known to parse, without a backend. */
  public void define(String name, StatementKey key) {
    byName.put(name, entry(key));
  }

  /**
   * The client itself just got PostgreSQL's stale-plan error for {@code key} (or Sluice runs its
   * batch again): its statements of that key are current from now on.
   */
  public void refresh(StatementKey key) {
    byName.replaceAll((n, e) -> e.key().equals(key) ? entry(key) : e);
  }

  public boolean has(String name) {
    return byName.containsKey(name);
  }

  public StatementKey get(String name) {
    Entry e = byName.get(name);
    return e == null ? null : e.key();
  }

  /** {@code DEALLOCATE name}. */
  public void remove(String name) {
    byName.remove(name);
  }

  /** A Parse that failed or was skipped created nothing. */
  public void forget(String name, StatementKey key) {
    Entry e = name == null ? null : byName.get(name);
    if (e != null && e.key().equals(key)) {
      byName.remove(name);
    }
  }

  /** A Close that was skipped (an earlier error in its batch) closed nothing. */
  public void restore(String name, StatementKey key) {
    if (name != null && key != null) {
      byName.putIfAbsent(name, entry(key));
    }
  }

  /** {@code DEALLOCATE ALL}, {@code DISCARD ALL}. */
  public void clear() {
    byName.clear();
  }

  public int size() {
    return byName.size();
  }
}
