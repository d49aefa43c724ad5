package dev.sluice.server;

import java.util.Iterator;
import java.util.LinkedHashSet;

/**
 * Connections that have not completed their login, oldest first. They have their own limit, apart
 * from {@code --max-client-connections}, so that connections that never finish logging in cannot
 * lock out clients that do: when the limit is reached, a new connection pushes out the oldest.
 */
final class PendingLogins {
  private final int max;
  private final LinkedHashSet<ClientConnection> pending = new LinkedHashSet<>();

  PendingLogins(int max) {
    this.max = max;
  }

  /**
   * Adds {@code c}.
   *
   * @return the connection it pushes out, or null
   */
  synchronized ClientConnection add(ClientConnection c) {
    ClientConnection oldest = null;
    if (pending.size() >= max) {
      Iterator<ClientConnection> it = pending.iterator();
      oldest = it.next();
      it.remove();
    }
    pending.add(c);
    return oldest;
  }

  synchronized void remove(ClientConnection c) {
    pending.remove(c);
  }

  synchronized int size() {
    return pending.size();
  }
}
