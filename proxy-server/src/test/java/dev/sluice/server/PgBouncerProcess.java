package dev.sluice.server;

import dev.sluice.testing.FreePorts;
import dev.sluice.testing.PostgresServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.UserPrincipal;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

/**
 * Debian's PgBouncer ({@code apt-get install pgbouncer}), started for a side-by-side comparison in
 * transaction mode against one upstream, with its own defaults for everything but the pool sizes.
 * It refuses to run as root, so when the tests are root it runs as {@code postgres}. A missing
 * {@code pgbouncer} fails loudly.
 */
final class PgBouncerProcess implements AutoCloseable {
  private static final Path BINARY = Path.of("/usr/sbin/pgbouncer");
  private static final String OS_USER = "postgres";

  private final Process process;
  private final Path dir;
  private final int port;
  private final PostgresServer pg;

  private PgBouncerProcess(Process process, Path dir, int port, PostgresServer pg) {
    this.process = process;
    this.dir = dir;
    this.port = port;
    this.pg = pg;
  }

  /** PgBouncer in front of {@code upstreamHost:upstreamPort}, a server of {@code pg}'s roles. */
  static PgBouncerProcess start(
      PostgresServer pg, String upstreamHost, int upstreamPort, int poolSize, int minPoolSize)
      throws IOException, InterruptedException {
    if (!Files.isExecutable(BINARY)) {
      throw new IllegalStateException(BINARY + " missing: apt-get install pgbouncer");
    }
    int port = FreePorts.find();
    Path dir = Files.createTempDirectory("pgbouncer-");
    String db = pg.appDatabase();
    Files.writeString(
        dir.resolve("userlist.txt"),
        "\"" + pg.appUser() + "\" \"" + pg.appPassword().replace("\"", "\"\"") + "\"\n");
    Files.writeString(
        dir.resolve("pgbouncer.ini"),
        String.join(
            "\n",
            "[databases]",
            db + " = host=" + upstreamHost + " port=" + upstreamPort + " dbname=" + db,
            "[pgbouncer]",
            "listen_addr = 127.0.0.1",
            "listen_port = " + port,
            "unix_socket_dir =",
            "auth_type = scram-sha-256",
            "auth_file = " + dir.resolve("userlist.txt"),
            "pool_mode = transaction",
            "default_pool_size = " + poolSize,
            "min_pool_size = " + minPoolSize,
            "reserve_pool_size = 0",
            "max_client_conn = 500",
            "ignore_startup_parameters = extra_float_digits",
            "logfile =",
            "pidfile =",
            ""));
    List<String> command = new ArrayList<>();
    boolean root = "root".equals(System.getProperty("user.name"));
    if (root) {
      UserPrincipal owner =
          dir.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName(OS_USER);
      for (Path p : List.of(dir, dir.resolve("userlist.txt"), dir.resolve("pgbouncer.ini"))) {
        Files.setOwner(p, owner);
      }
      command.addAll(List.of("runuser", "-u", OS_USER, "--"));
    }
    command.add(BINARY.toString());
    command.add(dir.resolve("pgbouncer.ini").toString());
    Process process =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(dir.resolve("pgbouncer.log").toFile())
            .start();
    PgBouncerProcess p = new PgBouncerProcess(process, dir, port, pg);
    p.awaitListening();
    return p;
  }

  private void awaitListening() throws IOException, InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (true) {
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress("127.0.0.1", port), 500);
        return;
      } catch (IOException e) {
        if (!process.isAlive() || System.nanoTime() - deadline > 0) {
          throw new IllegalStateException("PgBouncer did not listen on " + port + ": " + log(), e);
        }
        Thread.sleep(20);
      }
    }
  }

  int port() {
    return port;
  }

  /**
   * A JDBC connection through PgBouncer as the app user. pgjdbc's server-side prepared statements
   * do not survive transaction pooling in PgBouncer 1.18, so they are off, as its users set them.
   */
  Connection connect() throws SQLException {
    return connect(30);
  }

  /** The same, giving up after {@code timeoutSeconds} of login or of waiting for an answer. */
  Connection connect(int timeoutSeconds) throws SQLException {
    Properties p = new Properties();
    p.setProperty("user", pg.appUser());
    p.setProperty("password", pg.appPassword());
    p.setProperty("prepareThreshold", "0");
    p.setProperty("socketTimeout", Integer.toString(timeoutSeconds));
    p.setProperty("loginTimeout", Integer.toString(timeoutSeconds));
    return DriverManager.getConnection(
        "jdbc:postgresql://127.0.0.1:" + port + "/" + pg.appDatabase(), p);
  }

  String log() {
    try {
      return Files.readString(dir.resolve("pgbouncer.log"));
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }

  @Override
  public void close() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(10, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      process.waitFor(10, TimeUnit.SECONDS);
    }
  }
}
