package dev.sluice.pool;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Whether a {@link ConnectionPool} is paused (PgBouncer's PAUSE), and the futures of those who
 * paused it, to complete once no connection is handed out any more. Not thread-safe: the pool calls
 * it under its monitor and completes the futures it returns outside it.
 */
final class PoolPause {
  private boolean on;
  private final List<CompletableFuture<Void>> quietWaiters = new ArrayList<>();

  /** Paused: nothing is handed out or opened, and released connections are closed. */
  boolean on() {
    return on;
  }

  /** Pauses (again); the future completes when the pool is quiet. */
  CompletableFuture<Void> begin() {
    on = true;
    CompletableFuture<Void> quiet = new CompletableFuture<>();
    quietWaiters.add(quiet);
    return quiet;
  }

  /**
   * Ends the pause: the futures still waiting, taken (to fail, since the pool never got quiet), or
   * null if the pool was not paused.
   */
  List<CompletableFuture<Void>> end() {
    if (!on) {
      return null;
    }
    on = false;
    return take();
  }

  /** The futures waiting, taken, if paused and {@code active} is 0; otherwise none. */
  List<CompletableFuture<Void>> takeIfQuiet(int active) {
    if (!on || active > 0 || quietWaiters.isEmpty()) {
      return List.of();
    }
    return take();
  }

  private List<CompletableFuture<Void>> take() {
    List<CompletableFuture<Void>> taken = new ArrayList<>(quietWaiters);
    quietWaiters.clear();
    return taken;
  }
}
