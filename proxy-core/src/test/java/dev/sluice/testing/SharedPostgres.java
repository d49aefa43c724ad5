package dev.sluice.testing;

import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one PostgreSQL of this JVM, started on first use.
 *
 * <p>Where it comes from, in order:
 *
 * <ol>
 *   <li>{@code SLUICE_TEST_PG_URL}, a libpq URI with a superuser: used as is, never stopped;
 *   <li>a fresh cluster made with initdb and run with pg_ctl, from the machine's PostgreSQL
 *       programs (see {@link PgBinaries}); stopped and deleted when the test run ends;
 *   <li>Testcontainers is deliberately not a source: the build machines have the Docker CLI but no
 *       Docker engine, and the local binaries are faster anyway.
 * </ol>
 *
 * <p>State is static because a test JVM must start PostgreSQL once, not once per test class; it is
 * reached only through {@link PostgresExtension}. A start that failed is not retried: every later
 * caller gets the same explanation at once instead of waiting for another doomed initdb.
 */
final class SharedPostgres {
  static final String URL_ENV = "SLUICE_TEST_PG_URL";

  private static final Logger log = LoggerFactory.getLogger(SharedPostgres.class);
  private static final int FAILURE_LOG_LINES = 80;

  private static PostgresServer server;
  private static RuntimeException startFailure;
  private static boolean shutdownHookInstalled;

  private SharedPostgres() {}

  static synchronized PostgresServer get() {
    if (server != null) {
      return server;
    }
    if (startFailure != null) {
      throw new IllegalStateException(
          "PostgreSQL for tests failed to start earlier in this JVM: " + startFailure.getMessage(),
          startFailure);
    }
    installShutdownHook();
    try {
      server = launch();
      return server;
    } catch (RuntimeException e) {
      startFailure = e;
      throw e;
    }
  }

  static synchronized Optional<PostgresServer> current() {
    return Optional.ofNullable(server);
  }

  /** Stops a managed server; a later {@link #get()} would start a new one. */
  static synchronized void stop() {
    if (server == null) {
      return;
    }
    PostgresServer stopping = server;
    server = null;
    stopping.shutdown();
    if (stopping.managed()) {
      log.info("PostgreSQL for tests stopped: {}", stopping);
    }
  }

  private static PostgresServer launch() {
    String url = System.getenv(URL_ENV);
    return url == null || url.isBlank() ? startLocal() : useExternal(PostgresUri.parse(url));
  }

  private static PostgresServer useExternal(PostgresUri uri) {
    PostgresServer external =
        new PostgresServer(
            uri.host(),
            uri.port(),
            uri.user(),
            uri.password(),
            uri.database(),
            PgBinaries.forClientOnly().clientBin(),
            null);
    RoleSetup.apply(external);
    log.info("PostgreSQL for tests: external server {} from {}", uri, URL_ENV);
    return external;
  }

  private static PostgresServer startLocal() {
    long started = System.nanoTime();
    PgBinaries binaries = PgBinaries.forServer();
    LocalCluster cluster = LocalCluster.create(binaries);
    try {
      cluster.initdb(PostgresServer.SUPER_PASSWORD);
      cluster.start();
      PostgresServer local = PostgresServer.local(binaries, cluster);
      RoleSetup.apply(local);
      log.info(
          "PostgreSQL for tests started in {} ms: {} (programs from {})",
          (System.nanoTime() - started) / 1_000_000,
          local,
          binaries.serverBin());
      return local;
    } catch (RuntimeException e) {
      IllegalStateException failure = new IllegalStateException(startFailureMessage(cluster, e), e);
      try {
        cluster.stop();
      } catch (RuntimeException stopFailure) {
        failure.addSuppressed(stopFailure);
      } finally {
        cluster.deleteFiles();
      }
      throw failure;
    }
  }

  private static String startFailureMessage(LocalCluster cluster, RuntimeException e) {
    return "PostgreSQL for tests could not be started ("
        + cluster
        + "): "
        + e.getMessage()
        + "\n--- last "
        + FAILURE_LOG_LINES
        + " lines of "
        + cluster.logFile()
        + " ---\n"
        + cluster.logTail(FAILURE_LOG_LINES)
        + "\n--- end of log ---\nTo use a running server instead, set "
        + URL_ENV
        + "=postgres://SUPERUSER:PASSWORD@HOST:PORT/postgres";
  }

  private static void installShutdownHook() {
    if (shutdownHookInstalled) {
      return;
    }
    // Safety net for runs that end without closing the JUnit store (System.exit, a killed fork).
    Runtime.getRuntime()
        .addShutdownHook(new Thread(SharedPostgres::stop, "sluice-test-postgres-shutdown"));
    shutdownHookInstalled = true;
  }
}
