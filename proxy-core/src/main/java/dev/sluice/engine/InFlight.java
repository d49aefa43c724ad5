package dev.sluice.engine;

import dev.sluice.protocol.backend.ReadyForQuery;
import java.util.ArrayDeque;
import java.util.function.Consumer;

/**
 * Everything a client session has sent to its backend and not yet had answered, and the protocol
 * state that decides whether the backend may be let go.
 *
 * <p>Every request to a backend is an {@link Expected} entry here, in order; PostgreSQL answers in
 * order, so the head says which request each backend message answers and whether the client sees
 * it. Besides the queue: an extended-protocol batch open without its Sync, a COPY IN in progress,
 * the transaction status of the last ReadyForQuery, and "discard until Sync" after an error Sluice
 * synthesized. {@link #quiet()} is the one answer to "is nothing of this client in flight".
 *
 * <p>Not thread-safe: the client's event loop owns it.
 */
final class InFlight {
  private final ArrayDeque<Expected> queue = new ArrayDeque<>();
  private boolean extendedOpen;
  private boolean copyIn;
  private boolean discardUntilSync;
  private ReadyForQuery txStatus = ReadyForQuery.IDLE;

  void add(Expected e) {
    queue.add(e);
  }

  Expected head() {
    return queue.peek();
  }

  Expected poll() {
    return queue.poll();
  }

  boolean isEmpty() {
    return queue.isEmpty();
  }

  /** Nothing sent and unanswered, no batch open, no COPY IN running. */
  boolean quiet() {
    return queue.isEmpty() && !extendedOpen && !copyIn;
  }

  /** Quiet and outside any transaction block: the backend could serve someone else now. */
  boolean idle() {
    return quiet() && txStatus == ReadyForQuery.IDLE;
  }

  /** A new batch may start here: nothing outstanding, no transaction, no batch open. */
  boolean freshBatch() {
    return queue.isEmpty() && txStatus == ReadyForQuery.IDLE && !extendedOpen;
  }

  /**
   * After an error the backend skips every request up to the next Sync: drop their entries (each
   * given to {@code skipped}) so the queue's head is that Sync's again.
   */
  void skipToSync(Consumer<Expected> skipped) {
    Expected e;
    while ((e = queue.peek()) != null && !e.kind().sync()) {
      queue.poll();
      skipped.accept(e);
    }
    if (queue.isEmpty() && extendedOpen) {
      discardUntilSync = true;
    }
  }

  /** The backend is gone: nothing will be answered. */
  void clear() {
    queue.clear();
  }

  /** The backend is gone: nothing will be answered; each entry goes to {@code dropped}. */
  void clear(Consumer<Expected> dropped) {
    Expected e;
    while ((e = queue.poll()) != null) {
      dropped.accept(e);
    }
  }

  boolean extendedOpen() {
    return extendedOpen;
  }

  void extendedOpen(boolean open) {
    extendedOpen = open;
  }

  boolean copyIn() {
    return copyIn;
  }

  void copyIn(boolean in) {
    copyIn = in;
  }

  boolean discardingUntilSync() {
    return discardUntilSync;
  }

  void discardUntilSync(boolean on) {
    discardUntilSync = on;
  }

  ReadyForQuery txStatus() {
    return txStatus;
  }

  void txStatus(ReadyForQuery status) {
    txStatus = status;
  }

  /** The kinds still awaited, oldest first, for diagnostics. */
  String describe() {
    return queue.stream().map(e -> e.kind().name()).toList().toString();
  }
}
