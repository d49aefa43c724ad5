package dev.sluice.resilience;

import dev.sluice.error.ServerErrorException;
import dev.sluice.error.SluiceException;
import dev.sluice.error.SqlState;
import java.io.IOException;
import java.util.Set;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeoutException;

/**
 * Which failures to open a backend connection may pass if tried again: the network (refused, reset,
 * timed out) and a server that cannot take connections just now (starting up, shutting down, too
 * many connections). A server that answered with an error about the login itself (no such database,
 * wrong password, an auth method Sluice lacks) or a TLS certificate problem will give the same
 * answer again.
 */
public final class ConnectFailures {
  /** SQLSTATEs of a server that is there but cannot take a connection now. */
  private static final Set<String> TRANSIENT_STATES =
      Set.of(
          SqlState.CANNOT_CONNECT_NOW.code(),
          SqlState.TOO_MANY_CONNECTIONS.code(),
          SqlState.ADMIN_SHUTDOWN.code(),
          "57P02", // crash_shutdown
          SqlState.CONNECTION_FAILURE.code());

  private ConnectFailures() {}

  public static Throwable unwrap(Throwable t) {
    Throwable c = t;
    while (c instanceof CompletionException && c.getCause() != null) {
      c = c.getCause();
    }
    return c;
  }

  public static boolean isTransient(Throwable failure) {
    Throwable t = unwrap(failure);
    if (t instanceof ServerErrorException se) {
      return TRANSIENT_STATES.contains(se.error().sqlState());
    }
    if (t instanceof CircuitOpenException) {
      return false;
    }
    if (t instanceof SluiceException) {
      return t instanceof TransientConnectException;
    }
    return t instanceof IOException || t instanceof TimeoutException;
  }
}
