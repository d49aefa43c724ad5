package dev.sluice.cli;

import dev.sluice.error.SafeErrors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;

/**
 * How {@code sluice run} answers signals, as PgBouncer and most daemons do: SIGHUP reloads the
 * configuration (systemd's {@code ExecReload}); SIGTERM and SIGINT drain, and the process then
 * exits 0 because the stop was asked for. Left to the JVM, SIGHUP would stop the process and a
 * drained stop would exit 143.
 */
final class Signals {
  private static final Logger log = LoggerFactory.getLogger(Signals.class);

  private Signals() {}

  static void install(Launcher.Running server) {
    handle("HUP", () -> reload(server));
    Runnable drain = () -> new Thread(server::drain, "sluice-shutdown").start();
    handle("TERM", drain);
    handle("INT", drain);
  }

  private static void handle(String name, Runnable action) {
    try {
      Signal.handle(new Signal(name), sig -> action.run());
    } catch (IllegalArgumentException | UnsupportedOperationException e) {
      log.info("SIG{} cannot be handled here ({})", name, e.getMessage());
    }
  }

  /** Runs on the JVM's signal thread: never throws, always says what happened. */
  static void reload(Launcher.Running server) {
    try {
      server.reload("SIGHUP");
    } catch (RuntimeException e) {
      log.warn(
          "reload on SIGHUP failed, the running configuration stays: {}", SafeErrors.describe(e));
    }
  }
}
