package dev.sluice.logging;

/**
 * Who a connection's log lines are about: its short id, and once known the database and role it
 * serves and, for a backend, the PostgreSQL backend's process id (from BackendKeyData), so that a
 * line can be matched with the server's own log and {@code pg_stat_activity}. {@link ConnLog}
 * copies these into the MDC around each line.
 *
 * <p>Written by the connection's event loop; read by whichever thread logs, hence volatile.
 */
public final class LogContext {
  private final String id;
  private volatile String database;
  private volatile String user;
  private volatile int pid;

  private LogContext(String id) {
    this.id = id;
  }

  /** The context of connection {@code id}, with nothing else known yet. */
  public static LogContext of(String id) {
    return new LogContext(id);
  }

  /** The database and role the connection serves (a client's startup packet, a backend's pool). */
  public LogContext identify(String database, String user) {
    this.database = database;
    this.user = user;
    return this;
  }

  /** The backend's process id, as its BackendKeyData said. */
  public void backendPid(int pid) {
    this.pid = pid;
  }

  public String id() {
    return id;
  }

  /** Null until identified. */
  public String database() {
    return database;
  }

  /** Null until identified. */
  public String user() {
    return user;
  }

  /** 0 until known (clients never have one). */
  public int pid() {
    return pid;
  }

  @Override
  public String toString() {
    return id;
  }
}
