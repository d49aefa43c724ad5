package dev.sluice.testing;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.attribute.UserPrincipalNotFoundException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * A throwaway PostgreSQL cluster made with initdb and run with pg_ctl, everything under one fresh
 * temporary directory:
 *
 * <pre>
 * /tmp/sluice-pg-XXXX/          mode 0755, owned by postgres when we are root
 *   socket/                     unix_socket_directories
 *   data/                       PGDATA (0700, made by initdb)
 *     postgresql.log            pg_ctl -l; logging_collector stays off
 * </pre>
 *
 * <p>PostgreSQL refuses to run as root, so when the JVM is root every program runs as the {@code
 * postgres} OS user through {@code runuser -u postgres --}. That user must be able to reach the
 * directory, hence /tmp (not a 0700 home) and mode 0755.
 *
 * <p>The server listens on 127.0.0.1 only, on a port picked free just before start; if another
 * process grabs it first the start is retried on a new port.
 */
final class LocalCluster {
  static final String OS_USER = "postgres";

  private static final Duration INITDB_TIMEOUT = Duration.ofMinutes(2);
  private static final Duration PG_CTL_TIMEOUT = Duration.ofSeconds(90);
  private static final int PG_CTL_WAIT_SECONDS = 60;
  private static final int START_ATTEMPTS = 3;
  private static final int TAIL_BYTES = 256 * 1024;

  private static final String HBA =
      String.join(
          "\n",
          "# Written by the Sluice test harness. First match wins: the per-role lines come first.",
          "local all all trust",
          "local replication all trust",
          "host all md5_user 127.0.0.1/32 md5",
          "host all plain_user 127.0.0.1/32 password",
          "host all all 127.0.0.1/32 scram-sha-256",
          "host all all ::1/128 scram-sha-256",
          "host replication all 127.0.0.1/32 scram-sha-256",
          "");

  private final PgBinaries binaries;
  private final List<String> runAs;
  private final Path baseDir;
  private final Path dataDir;
  private final Path socketDir;
  private final Path logFile;
  private volatile int port;

  private LocalCluster(PgBinaries binaries, List<String> runAs, Path baseDir) {
    this.binaries = binaries;
    this.runAs = runAs;
    this.baseDir = baseDir;
    this.dataDir = baseDir.resolve("data");
    this.socketDir = baseDir.resolve("socket");
    this.logFile = dataDir.resolve("postgresql.log");
  }

  /** Makes the directory layout; nothing runs yet. */
  static LocalCluster create(PgBinaries binaries) {
    boolean root = OsUser.isRoot();
    try {
      Path parent = root ? Path.of("/tmp") : Path.of(System.getProperty("java.io.tmpdir"));
      Path base = Files.createTempDirectory(parent, "sluice-pg-");
      Files.setPosixFilePermissions(base, PosixFilePermissions.fromString("rwxr-xr-x"));
      Files.createDirectory(base.resolve("socket"));
      LocalCluster cluster =
          new LocalCluster(binaries, root ? OsUser.runAsPostgres() : List.of(), base);
      cluster.handOver(base);
      cluster.handOver(base.resolve("socket"));
      return cluster;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create a directory for PostgreSQL", e);
    }
  }

  int port() {
    return port;
  }

  Path logFile() {
    return logFile;
  }

  /** Runs initdb (superuser {@code postgres} with the given password) and writes the config. */
  void initdb(String superPassword) {
    Path pwfile = baseDir.resolve("pwfile");
    try {
      Files.writeString(pwfile, superPassword + "\n");
      Files.setPosixFilePermissions(pwfile, PosixFilePermissions.fromString("rw-------"));
      handOver(pwfile);
      exec(
          "initdb",
          List.of(
              binaries.serverProgram("initdb").toString(),
              "--pgdata=" + dataDir,
              "--username=" + OS_USER,
              "--pwfile=" + pwfile,
              "--encoding=UTF8",
              "--locale=C",
              "--auth-local=trust",
              "--auth-host=scram-sha-256",
              // A test cluster dies with the JVM; skipping fsync makes initdb take ~1 s.
              "--no-sync"),
          INITDB_TIMEOUT);
      Files.delete(pwfile);
      // Appending keeps the file's owner (postgres); later settings override initdb's.
      Files.writeString(dataDir.resolve("postgresql.conf"), settings(), StandardOpenOption.APPEND);
      writeTlsFiles();
      Files.writeString(dataDir.resolve("pg_hba.conf"), HBA, StandardOpenOption.TRUNCATE_EXISTING);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot prepare " + dataDir, e);
    }
  }

  /** Starts the server on a free port, retrying on another port if that one was taken meanwhile. */
  void start() {
    for (int attempt = 1; ; attempt++) {
      port = FreePorts.find();
      long logMark = logSize();
      ProcessResult result = pgCtl("start", "-l", logFile.toString(), "-o", "-p " + port);
      if (result.succeeded()) {
        return;
      }
      boolean portTaken = readFrom(logMark).contains("could not bind");
      if (!portTaken || attempt == START_ATTEMPTS) {
        throw failure("pg_ctl start (port " + port + ")", result);
      }
    }
  }

  /** Starts a stopped server again on the port it had (a failover test's host comes back). */
  void startAgain() {
    ProcessResult result = pgCtl("start", "-l", logFile.toString(), "-o", "-p " + port);
    if (!result.succeeded()) {
      throw failure("pg_ctl start again (port " + port + ")", result);
    }
  }

  /**
   * Fills this (empty) cluster with a base backup of {@code primary}, set up to follow it as a hot
   * standby (streaming replication over the primary's Unix socket).
   */
  void basebackupFrom(LocalCluster primary) {
    exec(
        "pg_basebackup",
        List.of(
            binaries.serverProgram("pg_basebackup").toString(),
            "--pgdata=" + dataDir,
            "--host=" + primary.socketDir,
            "--port=" + primary.port,
            "--username=" + OS_USER,
            "--write-recovery-conf",
            "--wal-method=stream",
            "--checkpoint=fast",
            "--no-sync"),
        INITDB_TIMEOUT);
  }

  /** Promotes a standby to primary and waits until it accepts writes. */
  void promote() {
    ProcessResult result = pgCtl("promote");
    if (!result.succeeded()) {
      throw failure("pg_ctl promote", result);
    }
  }

  /** Restarts on the same port (pg_ctl reuses the options of the last start). */
  void restart() {
    ProcessResult result = pgCtl("restart", "-m", "fast", "-l", logFile.toString());
    if (!result.succeeded()) {
      throw failure("pg_ctl restart", result);
    }
  }

  /** Stops the server if it runs: fast shutdown first, immediate if that does not finish. */
  void stop() {
    if (!Files.exists(dataDir.resolve("postmaster.pid"))) {
      return;
    }
    if (!pgCtl("stop", "-m", "fast").succeeded()) {
      pgCtl("stop", "-m", "immediate");
    }
  }

  /** Removes the whole temporary directory; best effort. */
  void deleteFiles() {
    try {
      Files.walkFileTree(
          baseDir,
          new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs)
                throws IOException {
              Files.delete(file);
              return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
              Files.delete(dir);
              return FileVisitResult.CONTINUE;
            }
          });
    } catch (IOException e) {
      // Leaving a few files in /tmp is better than failing a test run at its very end.
    }
  }

  /** The last {@code lines} lines of the server log. */
  String logTail(int lines) {
    String text = readFrom(Math.max(0, logSize() - TAIL_BYTES));
    List<String> all = Arrays.asList(text.split("\n", -1));
    int end = text.endsWith("\n") ? all.size() - 1 : all.size();
    return String.join("\n", all.subList(Math.max(0, end - lines), end));
  }

  @Override
  public String toString() {
    return "cluster in " + dataDir + " on 127.0.0.1:" + port;
  }

  private String settings() {
    return String.join(
        "\n",
        "",
        "# Added by the Sluice test harness: a fast, disposable server reachable only locally.",
        "listen_addresses = '127.0.0.1'",
        "unix_socket_directories = '" + socketDir + "'",
        "max_connections = 300",
        "fsync = off",
        "synchronous_commit = off",
        "full_page_writes = off",
        "shared_buffers = 128MB",
        "password_encryption = 'scram-sha-256'",
        "logging_collector = off",
        "# The query cache's tests: logical decoding for WAL invalidation, and counting executions.",
        "wal_level = logical",
        "max_replication_slots = 20",
        "max_wal_senders = 20",
        "shared_preload_libraries = 'pg_stat_statements'",
        "log_line_prefix = '%m [%p] %q%u@%d/%a '",
        "# TLS offered, not required (pg_hba says host): for the upstream TLS tests.",
        "ssl = on",
        "ssl_cert_file = 'server.crt'",
        "ssl_key_file = 'server.key'",
        "");
  }

  /**
   * The server's certificate (issued by the run's test CA, for {@code localhost} only) and key,
   * owned by the server's OS user with the key private, as PostgreSQL demands; and the CA's
   * certificate beside the cluster for clients.
   */
  private void writeTlsFiles() throws IOException {
    var server = TestCertificates.server("localhost", "localhost");
    Path cert = dataDir.resolve("server.crt");
    Path key = dataDir.resolve("server.key");
    Files.writeString(cert, server.getCertificatePEM());
    Files.writeString(key, server.getPrivateKeyPEM());
    Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-------"));
    handOver(cert);
    handOver(key);
    Files.writeString(rootCert(), TestCertificates.authority().getCertificatePEM());
  }

  /** The PEM certificate of the CA that issued the server's certificate. */
  Path rootCert() {
    return baseDir.resolve("root.crt");
  }

  private ProcessResult pgCtl(String action, String... options) {
    List<String> command = new ArrayList<>();
    command.add(binaries.serverProgram("pg_ctl").toString());
    command.addAll(List.of("--pgdata=" + dataDir, "--wait", "--timeout=" + PG_CTL_WAIT_SECONDS));
    command.addAll(Arrays.asList(options));
    command.add(action);
    return run(command, PG_CTL_TIMEOUT);
  }

  private void exec(String step, List<String> command, Duration timeout) {
    ProcessResult result = run(command, timeout);
    if (!result.succeeded()) {
      throw failure(step, result);
    }
  }

  private ProcessResult run(List<String> command, Duration timeout) {
    List<String> full = new ArrayList<>(runAs);
    full.addAll(command);
    // C locale: initdb must not trip over a locale the machine lacks, and messages stay English.
    return Processes.run(full, Map.of("LC_ALL", "C", "LANG", "C"), timeout, baseDir);
  }

  private IllegalStateException failure(String step, ProcessResult result) {
    return new IllegalStateException(
        step
            + " failed with exit code "
            + result.exitCode()
            + "\n--- its stdout ---\n"
            + result.stdout()
            + "\n--- its stderr ---\n"
            + result.stderr());
  }

  private void handOver(Path path) throws IOException {
    if (runAs.isEmpty()) {
      return;
    }
    UserPrincipal postgres;
    try {
      postgres =
          path.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName(OS_USER);
    } catch (UserPrincipalNotFoundException e) {
      throw new IllegalStateException(
          "running as root, and PostgreSQL refuses root, but there is no '"
              + OS_USER
              + "' OS user to run it as (Debian's postgresql-common creates one)",
          e);
    }
    Files.setOwner(path, postgres);
  }

  private long logSize() {
    try {
      return Files.exists(logFile) ? Files.size(logFile) : 0;
    } catch (IOException e) {
      return 0;
    }
  }

  private String readFrom(long offset) {
    if (!Files.exists(logFile)) {
      return "(no log file at " + logFile + ")";
    }
    try (RandomAccessFile file = new RandomAccessFile(logFile.toFile(), "r")) {
      long start = Math.min(offset, file.length());
      byte[] bytes = new byte[(int) (file.length() - start)];
      file.seek(start);
      file.readFully(bytes);
      return new String(bytes, StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "(cannot read " + logFile + ": " + e + ")";
    }
  }
}
