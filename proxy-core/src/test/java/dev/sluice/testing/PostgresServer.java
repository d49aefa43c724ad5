package dev.sluice.testing;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * The PostgreSQL that tests run against: one per JVM, started by {@link PostgresExtension}.
 *
 * <p>Besides the superuser it has these roles, all with password {@value #APP_PASSWORD}:
 *
 * <ul>
 *   <li>{@value #APP_USER}, a SCRAM-SHA-256 login that owns database {@value #APP_DATABASE};
 *   <li>{@value #MD5_USER}, whose password is stored as an MD5 hash and whose pg_hba line asks for
 *       {@code md5};
 *   <li>{@value #PLAIN_USER}, whose pg_hba line asks for the cleartext {@code password} method.
 * </ul>
 *
 * The last two may create tables in {@value #APP_DATABASE}'s public schema. All TCP logins go to
 * {@code 127.0.0.1}. On an external server ({@code SLUICE_TEST_PG_URL}) the roles and database are
 * created if missing, but its pg_hba.conf is its owner's business.
 */
public final class PostgresServer {
  static final String APP_USER = "sluice_app";
  static final String APP_PASSWORD = "app-secret-pw";
  static final String APP_DATABASE = "sluice_test";
  static final String MD5_USER = "md5_user";
  static final String PLAIN_USER = "plain_user";
  static final String SUPER_PASSWORD = "postgres-secret-pw";

  private static final Duration QUERY_TIMEOUT = Duration.ofSeconds(30);

  private final String host;
  private final int port;
  private final String superUser;
  private final String superPassword;
  private final String superDatabase;
  private final Path binDir;
  private final LocalCluster cluster;

  /** A server the harness runs itself, on loopback, as the {@code postgres} superuser. */
  static PostgresServer local(PgBinaries binaries, LocalCluster cluster) {
    return new PostgresServer(
        "127.0.0.1",
        cluster.port(),
        LocalCluster.OS_USER,
        SUPER_PASSWORD,
        "postgres",
        binaries.clientBin(),
        cluster);
  }

  /** {@code cluster} is null for an external server. */
  PostgresServer(
      String host,
      int port,
      String superUser,
      String superPassword,
      String superDatabase,
      Path binDir,
      LocalCluster cluster) {
    this.host = host;
    this.port = port;
    this.superUser = superUser;
    this.superPassword = superPassword;
    this.superDatabase = superDatabase;
    this.binDir = binDir;
    this.cluster = cluster;
  }

  public String host() {
    return host;
  }

  public int port() {
    return port;
  }

  public String superUser() {
    return superUser;
  }

  public String superPassword() {
    return superPassword;
  }

  public String appUser() {
    return APP_USER;
  }

  public String appPassword() {
    return APP_PASSWORD;
  }

  public String appDatabase() {
    return APP_DATABASE;
  }

  /** A role that logs in with MD5; its password is {@link #appPassword()}. */
  public String md5User() {
    return MD5_USER;
  }

  /** A role that logs in with a cleartext password; its password is {@link #appPassword()}. */
  public String plainUser() {
    return PLAIN_USER;
  }

  /** True when the harness started this server (false for {@code SLUICE_TEST_PG_URL}). */
  public boolean managed() {
    return cluster != null;
  }

  /**
   * A libpq URI such as {@code postgres://sluice_app:app-secret-pw@127.0.0.1:40123/sluice_test}.
   */
  public String uri(String user, String password, String database) {
    return "postgres://"
        + encode(user)
        + ":"
        + encode(password)
        + "@"
        + hostForUrl()
        + ":"
        + port
        + "/"
        + encode(database);
  }

  /** {@code jdbc:postgresql://127.0.0.1:PORT/database}; credentials go in as properties. */
  public String jdbcUrl(String database) {
    return "jdbc:postgresql://" + hostForUrl() + ":" + port + "/" + encode(database);
  }

  /** A JDBC connection over TCP as the superuser, to its own database (normally postgres). */
  public Connection connectSuper() throws SQLException {
    return connect(superUser, superPassword, superDatabase);
  }

  /** A JDBC connection over TCP as {@link #appUser()} to {@link #appDatabase()}. */
  public Connection connectApp() throws SQLException {
    return connect(APP_USER, APP_PASSWORD, APP_DATABASE);
  }

  /** A JDBC connection over TCP with the given credentials. */
  public Connection connect(String user, String password, String database) throws SQLException {
    Properties properties = new Properties();
    properties.setProperty("user", user);
    properties.setProperty("password", password);
    properties.setProperty("connectTimeout", "10");
    properties.setProperty("ApplicationName", "sluice-test-harness");
    return DriverManager.getConnection(jdbcUrl(database), properties);
  }

  /**
   * Environment variables that point psql or pgbench at this server: PGHOST, PGPORT, PGUSER,
   * PGPASSWORD, PGDATABASE.
   */
  public Map<String, String> libpqEnv(String user, String password, String database) {
    return Map.of(
        "PGHOST", host,
        "PGPORT", Integer.toString(port),
        "PGUSER", user,
        "PGPASSWORD", password,
        "PGDATABASE", database);
  }

  /**
   * Where psql and pgbench live: the server's own version directory when it has them, else the
   * directory where PATH finds psql.
   */
  public Path binDir() {
    return binDir;
  }

  /** The server log; null for an external server, whose log the harness cannot see. */
  public Path logFile() {
    return cluster == null ? null : cluster.logFile();
  }

  /** The last {@code lines} lines of the server log. */
  public String logTail(int lines) {
    return cluster == null
        ? "(external server: its log is not visible here)"
        : cluster.logTail(lines);
  }

  /**
   * Counts client backends connected to {@link #appDatabase()} whose application_name matches the
   * SQL LIKE pattern {@code applicationNameLike}, or all of them but the result cache's own
   * sessions when it is null. The harness's own connections (to the superuser's database) are never
   * counted.
   */
  public int backendCount(String applicationNameLike) {
    return onAppBackends("count(*)", applicationNameLike);
  }

  /**
   * Terminates the client backends that {@link #backendCount(String)} would count, as a crashed or
   * restarted server would; returns how many were signalled.
   */
  public int terminateBackends(String applicationNameLike) {
    return onAppBackends("count(pg_terminate_backend(pid))", applicationNameLike);
  }

  /**
   * The PEM file of the CA that issued a managed server's TLS certificate (which names {@code
   * localhost} only); null for an external server.
   */
  public Path tlsRootCert() {
    return cluster == null ? null : cluster.rootCert();
  }

  /**
   * Restarts a managed server on the same port (fast shutdown: every connection is dropped). The
   * server is shared by the whole JVM, so a test that calls this must leave nothing behind that
   * depends on open connections.
   */
  public void restart() {
    if (cluster == null) {
      throw new UnsupportedOperationException("cannot restart an external server");
    }
    cluster.restart();
  }

  /**
   * Runs a program to completion and captures its output. A bare program name ({@code psql}, {@code
   * pgbench}, ...) found in {@link #binDir()} is run from there. The environment is the JVM's
   * without any {@code PG*} variable, plus {@code env} (see {@link #libpqEnv}).
   *
   * @throws IllegalStateException if it runs longer than {@code timeout} (it is killed)
   */
  public ProcessResult run(List<String> command, Map<String, String> env, Duration timeout) {
    return Processes.run(resolve(command), env, timeout, workDir());
  }

  /**
   * Starts a program in the background (a Sluice under test, a long pgbench) with stdout and stderr
   * appended to {@code output}; resolves the program and sets the environment like {@link #run}.
   * The caller must stop it, e.g. with {@link Process#destroy()} in an {@code @AfterAll}.
   */
  public Process start(List<String> command, Map<String, String> env, Path output) {
    return Processes.start(resolve(command), env, output, workDir());
  }

  @Override
  public String toString() {
    return "PostgresServer["
        + host
        + ":"
        + port
        + (cluster == null ? ", external]" : ", " + cluster + "]");
  }

  /** Stops and removes a managed server; nothing for an external one. */
  void shutdown() {
    if (cluster != null) {
      cluster.stop();
      cluster.deleteFiles();
    }
  }

  private int onAppBackends(String aggregate, String applicationNameLike) {
    String sql =
        "SELECT "
            + aggregate
            + " FROM pg_stat_activity WHERE backend_type = 'client backend'"
            + " AND datname = ? AND pid <> pg_backend_pid()"
            // null: the pools' backends, not the sessions of Sluice's result cache (catalog
            // reads, invalidation sources), which come and go on their own
            + (applicationNameLike == null
                ? " AND application_name NOT LIKE 'sluice-cache-%'"
                : " AND application_name LIKE ?");
    try (Connection connection = connectSuper();
        PreparedStatement statement = connection.prepareStatement(sql)) {
      statement.setQueryTimeout((int) QUERY_TIMEOUT.toSeconds());
      statement.setString(1, APP_DATABASE);
      if (applicationNameLike != null) {
        statement.setString(2, applicationNameLike);
      }
      try (ResultSet rows = statement.executeQuery()) {
        rows.next();
        return rows.getInt(1);
      }
    } catch (SQLException e) {
      throw new IllegalStateException("cannot query pg_stat_activity on " + this, e);
    }
  }

  private List<String> resolve(List<String> command) {
    List<String> resolved = new ArrayList<>(command);
    String program = command.get(0);
    Path candidate = binDir.resolve(program);
    if (!program.contains("/") && Files.isExecutable(candidate)) {
      resolved.set(0, candidate.toString());
    }
    return resolved;
  }

  /** The JVM's working directory (the module directory under Maven), for relative paths. */
  private static Path workDir() {
    return Path.of("").toAbsolutePath();
  }

  private String hostForUrl() {
    return host.contains(":") ? "[" + host + "]" : host;
  }

  private static String encode(String part) {
    return URLEncoder.encode(part, StandardCharsets.UTF_8).replace("+", "%20");
  }
}
