package dev.sluice.testing;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * Creates the roles and database that tests log in with. Every step is idempotent, so it also runs
 * against an external server that already has them, and tolerates another JVM doing the same.
 */
final class RoleSetup {
  private static final String DUPLICATE_OBJECT = "42710";
  private static final String DUPLICATE_DATABASE = "42P04";

  private RoleSetup() {}

  static void apply(PostgresServer server) {
    try {
      try (Connection connection = server.connectSuper()) {
        ensureRole(connection, PostgresServer.APP_USER, "scram-sha-256");
        // The stored hash decides what the server can verify: an MD5 hash is what md5 auth needs.
        ensureRole(connection, PostgresServer.MD5_USER, "md5");
        ensureRole(connection, PostgresServer.PLAIN_USER, "scram-sha-256");
        ensureAppDatabase(connection);
      }
      try (Connection connection =
              server.connect(
                  server.superUser(), server.superPassword(), PostgresServer.APP_DATABASE);
          Statement statement = connection.createStatement()) {
        // Since PostgreSQL 15 only the database owner may create in public; let the others too.
        statement.execute(
            "GRANT CREATE ON SCHEMA public TO "
                + PostgresServer.MD5_USER
                + ", "
                + PostgresServer.PLAIN_USER);
      }
    } catch (SQLException e) {
      throw new IllegalStateException(
          "creating the test roles and database failed: " + e.getMessage(), e);
    }
  }

  private static void ensureRole(Connection connection, String role, String encryption)
      throws SQLException {
    try (Statement statement = connection.createStatement()) {
      if (!exists(connection, "SELECT 1 FROM pg_roles WHERE rolname = ?", role)) {
        ignoring(DUPLICATE_OBJECT, statement, "CREATE ROLE " + role + " LOGIN");
      }
      statement.execute("SET password_encryption = '" + encryption + "'");
      statement.execute(
          "ALTER ROLE " + role + " LOGIN PASSWORD '" + PostgresServer.APP_PASSWORD + "'");
      statement.execute("RESET password_encryption");
    }
  }

  private static void ensureAppDatabase(Connection connection) throws SQLException {
    String database = PostgresServer.APP_DATABASE;
    if (exists(connection, "SELECT 1 FROM pg_database WHERE datname = ?", database)) {
      return;
    }
    try (Statement statement = connection.createStatement()) {
      ignoring(
          DUPLICATE_DATABASE,
          statement,
          "CREATE DATABASE " + database + " OWNER " + PostgresServer.APP_USER);
    }
  }

  private static boolean exists(Connection connection, String query, String name)
      throws SQLException {
    try (PreparedStatement statement = connection.prepareStatement(query)) {
      statement.setString(1, name);
      try (ResultSet rows = statement.executeQuery()) {
        return rows.next();
      }
    }
  }

  /** Runs DDL that may lose a race with a concurrent, identical statement from another JVM. */
  private static void ignoring(String sqlState, Statement statement, String sql)
      throws SQLException {
    try {
      statement.execute(sql);
    } catch (SQLException e) {
      if (!sqlState.equals(e.getSQLState())) {
        throw e;
      }
    }
  }
}
