package dev.sluice.server;

import dev.sluice.relay.FaultRelay;
import dev.sluice.testing.ExtraPostgres;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * What the soak's faults act on: a PostgreSQL of the soak's own, the fault relay between it and
 * Sluice, and the pool's backends as pg_stat_activity shows them (the result cache's short catalog
 * sessions left out). Admin queries go to PostgreSQL directly, never through the relay.
 */
final class SoakTarget {
  private static final long WAIT_NANOS = TimeUnit.SECONDS.toNanos(30);
  private static final long POLL_MILLIS = 10;
  private static final String POOL_BACKENDS =
      " FROM pg_stat_activity WHERE backend_type = 'client backend' AND datname = ?"
          + " AND pid <> pg_backend_pid() AND application_name NOT LIKE 'sluice-cache-%'";

  final ExtraPostgres pg;
  final FaultRelay relay;

  SoakTarget(ExtraPostgres pg, FaultRelay relay) {
    this.pg = pg;
    this.relay = relay;
  }

  /** A pool backend running a statement now, polled for. */
  int busyBackend() throws Exception {
    long deadline = System.nanoTime() + WAIT_NANOS;
    while (true) {
      List<Integer> pids = backends("state = 'active'");
      if (!pids.isEmpty()) {
        return pids.get(0);
      }
      if (System.nanoTime() - deadline > 0) {
        throw new IllegalStateException("no pool backend ran a statement for 30 s");
      }
      Thread.sleep(POLL_MILLIS);
    }
  }

  /** The pool's backends whose pg_stat_activity row matches {@code condition}. */
  List<Integer> backends(String condition) throws SQLException {
    try (Connection c = pg.server().connectSuper();
        PreparedStatement st =
            c.prepareStatement("SELECT pid" + POOL_BACKENDS + " AND " + condition)) {
      st.setString(1, pg.server().appDatabase());
      List<Integer> pids = new ArrayList<>();
      try (ResultSet rs = st.executeQuery()) {
        while (rs.next()) {
          pids.add(rs.getInt(1));
        }
      }
      return pids;
    }
  }

  /**
   * pg_terminate_backend of each pool backend matching {@code condition}; how many it signalled.
   */
  int terminate(String condition) throws SQLException {
    try (Connection c = pg.server().connectSuper();
        PreparedStatement st =
            c.prepareStatement(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))"
                    + POOL_BACKENDS
                    + " AND "
                    + condition)) {
      st.setString(1, pg.server().appDatabase());
      try (ResultSet rs = st.executeQuery()) {
        rs.next();
        return rs.getInt(1);
      }
    }
  }

  /**
   * SIGKILL of a backend running a statement. PostgreSQL takes a backend that dies so as a crash:
   * it ends every other backend, recovers from WAL and takes logins again; this returns once it
   * does, and says whose process it killed.
   */
  int killBusyBackend() throws Exception {
    List<ProcessHandle> before =
        backends("true").stream().map(ProcessHandle::of).flatMap(Optional::stream).toList();
    int pid = busyBackend();
    ProcessHandle victim =
        ProcessHandle.of(pid).orElseThrow(() -> new IllegalStateException("pid " + pid + " gone"));
    if (!victim.destroyForcibly()) {
      throw new IllegalStateException("cannot SIGKILL backend " + pid);
    }
    // A login before the postmaster has noticed would be ended by the crash restart: wait for the
    // restart to have ended the backends that were there.
    awaitGone(before);
    awaitLogins();
    return pid;
  }

  private static void awaitGone(List<ProcessHandle> processes) throws InterruptedException {
    long deadline = System.nanoTime() + WAIT_NANOS;
    while (processes.stream().anyMatch(ProcessHandle::isAlive)) {
      if (System.nanoTime() - deadline > 0) {
        throw new IllegalStateException("backends still alive 30 s after a backend's SIGKILL");
      }
      Thread.sleep(POLL_MILLIS);
    }
  }

  /** Returns once PostgreSQL answers a query on a new connection. */
  void awaitLogins() throws InterruptedException {
    long deadline = System.nanoTime() + WAIT_NANOS;
    while (true) {
      try (Connection c = pg.server().connectSuper();
          ResultSet rs = c.createStatement().executeQuery("SELECT 1")) {
        rs.next();
        return;
      } catch (SQLException e) {
        if (System.nanoTime() - deadline > 0) {
          throw new IllegalStateException("PostgreSQL takes no logins 30 s on: " + e, e);
        }
        Thread.sleep(POLL_MILLIS);
      }
    }
  }

  /** Backends of the app database left idle inside a transaction (none once clients are gone). */
  int idleInTransaction() throws SQLException {
    return backends("state LIKE 'idle in transaction%'").size();
  }
}
