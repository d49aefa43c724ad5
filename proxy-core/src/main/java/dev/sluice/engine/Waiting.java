package dev.sluice.engine;

import java.util.ArrayDeque;
import java.util.List;
import java.util.function.Consumer;

/**
 * Client messages held while the session has no backend to send them to (or its settings are being
 * applied), oldest first, with the bytes they hold: the client is read on while they stay under
 * {@link #READ_LIMIT}, so a transaction's first request costs no pause in reading, and is not read
 * beyond it.
 */
final class Waiting {
  /** Bytes of waiting messages past which the client is not read until they go out. */
  static final int READ_LIMIT = 256 * 1024;

  private final ArrayDeque<Queued> queue = new ArrayDeque<>();
  private long bytes;

  void add(Queued q) {
    queue.add(q);
    bytes += q.frame().size();
  }

  Queued poll() {
    Queued q = queue.poll();
    if (q != null) {
      bytes -= q.frame().size();
    }
    return q;
  }

  boolean isEmpty() {
    return queue.isEmpty();
  }

  int size() {
    return queue.size();
  }

  /** Whether the waiting messages hold as much as the client may have waiting. */
  boolean full() {
    return bytes >= READ_LIMIT;
  }

  /** Puts {@code first} ahead of everything waiting (a batch replayed after its backend died). */
  void putFirst(List<Queued> first) {
    ArrayDeque<Queued> rest = new ArrayDeque<>(queue);
    queue.clear();
    bytes = 0;
    first.forEach(this::add);
    rest.forEach(this::add);
  }

  /** Empties the queue, giving each message to {@code each}. */
  void drain(Consumer<Queued> each) {
    Queued q;
    while ((q = poll()) != null) {
      each.accept(q);
    }
  }
}
