package dev.sluice.testing;

import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ExtensionContext.Namespace;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.junit.jupiter.api.extension.TestWatcher;

/**
 * Gives tests a real PostgreSQL: one per JVM, started on first use and stopped when the test run
 * ends.
 *
 * <pre>{@code
 * @ExtendWith(PostgresExtension.class)
 * class PoolIT {
 *   private final PostgresServer postgres;
 *
 *   PoolIT(PostgresServer postgres) { // or as a parameter of a test or lifecycle method
 *     this.postgres = postgres;
 *   }
 * }
 * }</pre>
 *
 * <p>Where the server comes from (an external {@code SLUICE_TEST_PG_URL}, else initdb + pg_ctl on a
 * free port) is described in {@link SharedPostgres}; what it contains, in {@link PostgresServer}.
 * When a test fails, the tail of the server log is printed to stderr.
 */
public final class PostgresExtension implements BeforeAllCallback, ParameterResolver, TestWatcher {
  private static final Namespace NAMESPACE = Namespace.create(PostgresExtension.class);

  private final PostgresLogOnFailure logOnFailure = new PostgresLogOnFailure();

  /**
   * The shared server, started if need be; for code that cannot take it as a parameter. Prefer the
   * extension: only it guarantees the server is stopped at the end of the run rather than at JVM
   * exit.
   */
  public static PostgresServer server() {
    return SharedPostgres.get();
  }

  @Override
  public void beforeAll(ExtensionContext context) {
    serverFor(context);
  }

  @Override
  public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
    return parameter.getParameter().getType() == PostgresServer.class;
  }

  @Override
  public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
    return serverFor(context);
  }

  @Override
  public void testFailed(ExtensionContext context, Throwable cause) {
    logOnFailure.testFailed(context, cause);
  }

  private static PostgresServer serverFor(ExtensionContext context) {
    // The root store is closed once, after the last test of the run: that stops the server.
    context
        .getRoot()
        .getStore(NAMESPACE)
        .getOrComputeIfAbsent(
            StopAtEndOfRun.class, key -> new StopAtEndOfRun(), StopAtEndOfRun.class);
    return SharedPostgres.get();
  }

  /** Stored in the root context's store, which JUnit closes when the whole run is over. */
  private static final class StopAtEndOfRun implements AutoCloseable {
    @Override
    public void close() {
      SharedPostgres.stop();
    }
  }
}
