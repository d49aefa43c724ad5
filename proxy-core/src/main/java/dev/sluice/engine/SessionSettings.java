package dev.sluice.engine;

import dev.sluice.protocol.backend.ErrorResponse;
import dev.sluice.protocol.backend.ReadyForQuery;
import dev.sluice.protocol.frontend.Query;
import io.netty.buffer.ByteBuf;
import java.util.List;

/**
 * A client's settings on whichever backend serves it: applied when a backend is linked (before any
 * of the client's requests), read back after the client SET a tracked setting the server does not
 * report, and forgotten after {@code RESET ALL}. Every query here is Sluice's own; its answers are
 * hidden from the client.
 */
final class SessionSettings {
  private final ClientSession s;

  /** The server refused a setting while they were being applied. */
  private ErrorResponse refused;

  SessionSettings(ClientSession s) {
    this.s = s;
  }

  /**
   * A backend was linked: brings its settings in line with the client's. Returns whether a query
   * was sent for it, in which case the client's requests wait for {@link #applied}.
   */
  boolean applyOnLink(BackendPort b) {
    String sync = s.params.syncQuery(b.session().applied());
    if (sync == null) {
      return false;
    }
    refused = null;
    ByteBuf buf = s.out.port().alloc().buffer(sync.length() + 8);
    new Query(sync).encode(buf);
    b.write(buf);
    s.inFlight.add(Expected.SETTINGS);
    return true;
  }

  void refused(ErrorResponse error) {
    refused = error;
  }

  /** The settings query was answered: the client's requests may go, unless it was refused. */
  void applied() {
    if (refused != null) {
      // A setting the server refuses (settings are checked at login, so this is rare): what
      // PostgreSQL would have said at login. The backend's settings are not what its
      // bookkeeping says, so it is closed rather than handed to the next client.
      BackendPort b = s.server;
      s.server = null;
      s.pool.release(b, false, "settings sync failed");
      s.out.port().close(CloseReason.LOGIN_FAILED, SessionErrors.asFatal(refused));
      return;
    }
    s.lease.settingsInPlace();
  }

  /** The backend answered with {@code status}: RESET ALL returned it to its own defaults. */
  void afterReady(ReadyForQuery status) {
    if (status == ReadyForQuery.IDLE
        && s.inFlight.isEmpty()
        && s.server != null
        && s.gate.takeResetAll()) {
      // The client's own session settings (its startup values) are replayed on the next
      // backend it gets.
      s.params.resetToStartup();
      s.server.session().applied().clear();
    }
  }

  /**
   * Once the backend is idle, reads back the tracked settings the client changed that the server
   * does not report (after a rollback they are read back unchanged, which is right too). Returns
   * whether a read-back was sent.
   */
  boolean readBackIfIdle() {
    if (!s.gate.hasCaptures()
        || s.server == null
        || s.inFlight.txStatus() != ReadyForQuery.IDLE
        || !s.inFlight.quiet()) {
      return false;
    }
    List<String> names = s.gate.takeCaptures();
    String sql = SessionStateGate.captureQuery(names);
    ByteBuf buf = s.out.port().alloc().buffer(sql.length() + 8);
    new Query(sql).encode(buf);
    s.server.write(buf);
    s.server.flush();
    s.inFlight.add(Expected.capture(names));
    return true;
  }
}
