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
  }

  private final Map<String, StatementKey> byName = new HashMap<>();

  /** A Parse of {@code key} under the client's {@code name}. */
  public Route parse(String name, StatementKey key, ServerStatements server) {
    if (byName.containsKey(name)) {
      return new Route.Refuse(
          SqlState.DUPLICATE_PREPARED_STATEMENT,
          "prepared statement \"" + name + "\" already exists");
    }
    byName.put(name, key);
    if (server.lookup(key) != null) {
      return new Route.Answer(key);
    }
    return new Route.Send(server.add(key), key, false);
  }

  /** A Bind or Describe of the client's statement {@code name}. */
  public Route use(String name, ServerStatements server) {
    StatementKey key = byName.get(name);
    if (key == null) {
      return new Route.Refuse(
          SqlState.INVALID_SQL_STATEMENT_NAME,
          "prepared statement \"" + name + "\" does not exist");
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
    return new Route.Answer(byName.remove(name));
  }

  /** Records a statement already known to parse, without a backend. */
  public void define(String name, StatementKey key) {
    byName.put(name, key);
  }

  public boolean has(String name) {
    return byName.containsKey(name);
  }

  public StatementKey get(String name) {
    return byName.get(name);
  }

  /** {@code DEALLOCATE name}. */
  public void remove(String name) {
    byName.remove(name);
  }

  /** A Parse that failed or was skipped created nothing. */
  public void forget(String name, StatementKey key) {
    if (name != null && key.equals(byName.get(name))) {
      byName.remove(name);
    }
  }

  /** A Close that was skipped (an earlier error in its batch) closed nothing. */
  public void restore(String name, StatementKey key) {
    if (name != null && key != null) {
      byName.putIfAbsent(name, key);
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
