package dev.sluice.server;

import dev.sluice.error.SluiceException;
import dev.sluice.error.SqlState;
import dev.sluice.protocol.frontend.StartupMessage;
import dev.sluice.session.SessionParameters;
import java.util.List;
import java.util.Map;

/**
 * What a client's StartupMessage asks for, checked as PostgreSQL checks it: protocol 3, no
 * replication, a user name; the database defaults to the user's name.
 *
 * @param protocolOptions {@code _pq_.*} options the client proposed, all of which Sluice declines
 */
record StartupRequest(
    String user,
    String database,
    SessionParameters params,
    List<String> protocolOptions,
    int minorVersion) {

  /**
   * @throws SluiceException with PostgreSQL's SQLSTATE for what it would refuse
   */
  static StartupRequest of(StartupMessage m) {
    if (m.majorVersion() != 3) {
      throw SluiceException.fatal(
          SqlState.FEATURE_NOT_SUPPORTED,
          "unsupported frontend protocol "
              + m.majorVersion()
              + "."
              + m.minorVersion()
              + ": server supports 3.0 to 3.0");
    }
    Map<String, String> p = m.parameters();
    String replication = p.get("replication");
    if (replication != null && !List.of("false", "off", "no", "0").contains(replication)) {
      throw SluiceException.fatal(
          SqlState.FEATURE_NOT_SUPPORTED, "replication connections are not supported by Sluice");
    }
    String user = p.get("user");
    if (user == null || user.isEmpty()) {
      throw SluiceException.fatal(
          SqlState.INVALID_AUTHORIZATION_SPECIFICATION,
          "no PostgreSQL user name specified in startup packet");
    }
    String db = p.get("database");
    return new StartupRequest(
        user,
        db == null || db.isEmpty() ? user : db,
        SessionParameters.fromStartup(p),
        p.keySet().stream().filter(k -> k.startsWith("_pq_.")).toList(),
        m.minorVersion());
  }

  /** Whether the client must be told which protocol version and options Sluice speaks. */
  boolean needsNegotiation() {
    return minorVersion > 0 || !protocolOptions.isEmpty();
  }
}
