package dev.sluice.server.invalidation;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What logical decoding needs before a slot is made, checked on a plain session so that a server
 * that cannot serve it is told apart from one that is down: wal_level, the server version, and the
 * publication, which is created when missing.
 *
 * <p>{@code CREATE PUBLICATION ... FOR ALL TABLES} has a cost for the application: PostgreSQL
 * refuses UPDATE and DELETE on a published table that has no replica identity (no primary key and
 * no {@code REPLICA IDENTITY FULL}/{@code USING INDEX}), and FOR ALL TABLES publishes tables
 * created later too. So the publication is only created when no such table exists, and creating it
 * is logged as a warning that says so; an operator who wants another scope creates the publication
 * himself (Sluice then uses it as it is).
 */
final class WalSetup {
  private static final Logger log = LoggerFactory.getLogger(WalSetup.class);

  static final int MIN_SERVER_VERSION = 110000;
  private static final int LISTED_TABLES = 10;
  private static final String INSUFFICIENT_PRIVILEGE = "42501";
  private static final String DUPLICATE_OBJECT = "42710";

  /** Ordinary permanent tables, as logical replication publishes them (user OIDs only). */
  private static final String WITHOUT_REPLICA_IDENTITY =
      "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname)"
          + " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
          + " WHERE c.relkind = 'r' AND c.relpersistence = 'p' AND c.oid >= 16384"
          + " AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
          + " AND n.nspname NOT LIKE 'pg\\_%'"
          + " AND c.relreplident <> 'f'"
          + " AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid"
          + "   AND ((c.relreplident = 'd' AND i.indisprimary)"
          + "     OR (c.relreplident = 'i' AND i.indisreplident)))"
          + " ORDER BY 1 LIMIT "
          + (LISTED_TABLES + 1);

  private WalSetup() {}

  /**
   * Why logical decoding is impossible at this {@code wal_level}; empty when it is {@code logical}.
   */
  static Optional<String> walLevelProblem(String walLevel) {
    if ("logical".equals(walLevel)) {
      return Optional.empty();
    }
    return Optional.of(
        "wal_level is '"
            + walLevel
            + "' but logical decoding needs 'logical'. Set wal_level = logical"
            + " (ALTER SYSTEM SET wal_level = logical), restart PostgreSQL, then restart Sluice;"
            + " until then cached results change only by max-age and by writes through Sluice");
  }

  /** Why this server version cannot serve; empty when it can. */
  static Optional<String> versionProblem(int serverVersionNum) {
    if (serverVersionNum >= MIN_SERVER_VERSION) {
      return Optional.empty();
    }
    return Optional.of(
        "PostgreSQL "
            + serverVersionNum
            + " is too old: WAL invalidation needs 11 or later (10 does not decode TRUNCATE)");
  }

  /**
   * Checks wal_level and the version, and makes sure the publication exists.
   *
   * @return a warning about the existing publication's scope, or null
   * @throws SourceUnavailableException when the server cannot serve and retrying will not help
   */
  static String prepare(Connection sql, String publication)
      throws SQLException, SourceUnavailableException {
    Optional<String> problem = walLevelProblem(show(sql, "wal_level"));
    if (problem.isEmpty()) {
      problem = versionProblem(Integer.parseInt(show(sql, "server_version_num")));
    }
    if (problem.isPresent()) {
      throw new SourceUnavailableException(problem.get());
    }
    try (PreparedStatement s =
        sql.prepareStatement(
            "SELECT pubinsert AND pubupdate AND pubdelete AND pubtruncate"
                + " FROM pg_publication WHERE pubname = ?")) {
      s.setString(1, publication);
      try (ResultSet rows = s.executeQuery()) {
        if (rows.next()) {
          return rows.getBoolean(1)
              ? null
              : "publication "
                  + publication
                  + " does not publish every kind of change (insert, update, delete, truncate):"
                  + " the kinds it leaves out are not seen";
        }
      }
    }
    create(sql, publication);
    return null;
  }

  /**
   * Microseconds to add to this machine's clock to read the server's, measured with one round trip
   * (its error is at most half of it): commit timestamps come from the server's clock.
   */
  static long clockSkewMicros(Connection sql, Clock clock) throws SQLException {
    try (Statement s = sql.createStatement()) {
      Instant before = clock.instant();
      try (ResultSet rows =
          s.executeQuery("SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::int8")) {
        Instant after = clock.instant();
        rows.next();
        long server = rows.getLong(1);
        long local = micros(before) + (micros(after) - micros(before)) / 2;
        return server - local;
      }
    }
  }

  static long micros(Instant t) {
    return ChronoUnit.MICROS.between(Instant.EPOCH, t);
  }

  private static void create(Connection sql, String publication)
      throws SQLException, SourceUnavailableException {
    List<String> unsafe = withoutReplicaIdentity(sql);
    if (!unsafe.isEmpty()) {
      String listed =
          String.join(", ", unsafe.subList(0, Math.min(unsafe.size(), LISTED_TABLES)))
              + (unsafe.size() > LISTED_TABLES ? ", ..." : "");
      throw new SourceUnavailableException(
          "publication "
              + publication
              + " does not exist, and creating it FOR ALL TABLES would make UPDATE and DELETE fail"
              + " on tables without a replica identity ("
              + listed
              + "). Give them a primary key or REPLICA IDENTITY FULL, or create the publication"
              + " for the tables to watch: CREATE PUBLICATION "
              + publication
              + " FOR TABLE ...");
    }
    try (Statement s = sql.createStatement()) {
      s.execute("CREATE PUBLICATION " + publication + " FOR ALL TABLES");
      log.warn(
          "created publication {} FOR ALL TABLES for WAL invalidation: from now on PostgreSQL"
              + " refuses UPDATE and DELETE on tables of this database that have no primary key or"
              + " replica identity, including tables created later",
          publication);
    } catch (SQLException e) {
      if (DUPLICATE_OBJECT.equals(e.getSQLState())) {
        return; // another Sluice made it first
      }
      if (INSUFFICIENT_PRIVILEGE.equals(e.getSQLState())) {
        throw new SourceUnavailableException(
            "publication "
                + publication
                + " does not exist and this user may not create it (FOR ALL TABLES needs a"
                + " superuser): have one run CREATE PUBLICATION "
                + publication
                + " FOR ALL TABLES");
      }
      throw e;
    }
  }

  private static List<String> withoutReplicaIdentity(Connection sql) throws SQLException {
    List<String> tables = new ArrayList<>();
    try (Statement s = sql.createStatement();
        ResultSet rows = s.executeQuery(WITHOUT_REPLICA_IDENTITY)) {
      while (rows.next()) {
        tables.add(rows.getString(1));
      }
    }
    return tables;
  }

  private static String show(Connection sql, String setting) throws SQLException {
    try (Statement s = sql.createStatement();
        ResultSet rows = s.executeQuery("SHOW " + setting)) {
      rows.next();
      return rows.getString(1);
    }
  }
}
