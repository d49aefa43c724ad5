package dev.sluice.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.Set;

/**
 * Picks TCP ports for tests. Tests never bind a fixed port: two builds on one machine, or a real
 * PostgreSQL (5432) or PgBouncer (6432), must not collide with them.
 */
public final class FreePorts {
  /** Ports that belong to real services on a developer's machine; never handed out. */
  private static final Set<Integer> RESERVED = Set.of(5432, 6432);

  private static final int ATTEMPTS = 20;

  private FreePorts() {}

  /**
   * Returns a port on the loopback interface that was free a moment ago. The kernel picks it (bind
   * to port 0), so it comes from the ephemeral range; the socket is closed before returning, so a
   * caller that loses the race to another process should retry with a new port.
   */
  public static int find() {
    for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
      int port = bindAndRelease();
      if (!RESERVED.contains(port)) {
        return port;
      }
    }
    throw new IllegalStateException("no free loopback port after " + ATTEMPTS + " attempts");
  }

  private static int bindAndRelease() {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      socket.setReuseAddress(true);
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException("could not bind a loopback port", e);
    }
  }
}
