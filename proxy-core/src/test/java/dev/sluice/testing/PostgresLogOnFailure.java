package dev.sluice.testing;

import java.io.PrintStream;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.TestWatcher;

/**
 * Prints the tail of the shared PostgreSQL's log to stderr when a test fails, next to the failure
 * in the build output. {@link PostgresExtension} already does this; register this watcher alone
 * only in a class that reaches the server through {@link PostgresExtension#server()}.
 */
public final class PostgresLogOnFailure implements TestWatcher {
  static final int LINES = 80;

  @Override
  public void testFailed(ExtensionContext context, Throwable cause) {
    SharedPostgres.current()
        .filter(PostgresServer::managed)
        .ifPresent(server -> print(server, context, System.err));
  }

  private static void print(PostgresServer server, ExtensionContext context, PrintStream out) {
    String test = context.getRequiredTestClass().getSimpleName() + " > " + context.getDisplayName();
    out.println(
        "---- last "
            + LINES
            + " lines of the PostgreSQL log ("
            + server.logFile()
            + ") after "
            + test
            + " failed ----\n"
            + server.logTail(LINES)
            + "\n---- end of PostgreSQL log ----");
  }
}
