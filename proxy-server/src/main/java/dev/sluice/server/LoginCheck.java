package dev.sluice.server;

import dev.sluice.protocol.backend.ErrorResponse;
import io.netty.channel.EventLoop;
import java.util.Map;

/**
 * What PostgreSQL still checks once a client has proved who it is, done on a backend only for what
 * no backend of the pool has told Sluice yet: for the first client of a pool, what the server
 * reports at login (and whether the database exists at all, so a wrong name fails here with the
 * server's own error); for startup settings no backend has accepted before, whether they are valid,
 * so an unknown or bad one is refused at login, as PostgreSQL refuses it, and never reaches a
 * backend another client will use.
 */
final class LoginCheck {
  /** The client being checked; every call comes on its event loop. */
  interface Client {
    /** Whether the client still waits for the outcome (it may have left). */
    boolean waiting();

    void passed();

    /** The server refused a setting: its error, as PostgreSQL would send it at login. */
    void refused(ErrorResponse error);

    /** No backend could be had to check with. */
    void failed(Throwable cause);
  }

  /** Backends lost under the check (a restart, a crash) before the client hears of it. */
  private static final int ATTEMPTS = 3;

  private LoginCheck() {}

  static void run(ServerPool pool, Map<String, String> settings, EventLoop loop, Client client) {
    run(pool, settings, loop, client, 1);
  }

  private static void run(
      ServerPool pool, Map<String, String> settings, EventLoop loop, Client client, int attempt) {
    Map<String, String> unchecked = pool.checkedSettings().unchecked(settings);
    if (pool.serverDefaults() != null && unchecked.isEmpty()) {
      client.passed();
      return;
    }
    pool.acquire(
        loop,
        (s, e) -> {
          if (!client.waiting()) {
            if (s != null) {
              pool.release(s, true, "client left during login");
            }
          } else if (e != null) {
            client.failed(e);
          } else if (unchecked.isEmpty()) {
            pool.release(s, true, "login probe");
            client.passed();
          } else {
            pool.checkSettings(
                s,
                unchecked,
                error ->
                    loop.execute(
                        () -> {
                          if (error != null && backendWentAway(error) && attempt < ATTEMPTS) {
                            // The backend died under the check: it says nothing about the client.
                            if (client.waiting()) {
                              run(pool, settings, loop, client, attempt + 1);
                            }
                          } else {
                            outcome(client, error);
                          }
                        }));
          }
        });
  }

  /** A goodbye of the backend itself (shutdown, crash, lost connection), not a verdict. */
  private static boolean backendWentAway(ErrorResponse error) {
    String code = error.sqlState();
    return error.isFatal() && code != null && (code.startsWith("57P") || code.startsWith("08"));
  }

  private static void outcome(Client client, ErrorResponse error) {
    if (!client.waiting()) {
      return;
    }
    if (error != null) {
      client.refused(error);
    } else {
      client.passed();
    }
  }
}
