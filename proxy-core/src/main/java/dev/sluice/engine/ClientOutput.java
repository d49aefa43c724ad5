package dev.sluice.engine;

import dev.sluice.protocol.BackendType;
import dev.sluice.protocol.Frame;
import dev.sluice.protocol.backend.CommandComplete;
import dev.sluice.protocol.backend.ErrorResponse;
import dev.sluice.protocol.backend.ReadyForQuery;
import dev.sluice.session.OwedAnswers;
import io.netty.buffer.ByteBuf;

/**
 * Everything a session writes to its client: the backend's frames relayed, and the answers Sluice
 * gives itself. Keeps the count of answers the client is owed ({@link OwedAnswers}: one
 * ReadyForQuery per Query, FunctionCall and Sync) and tells the replay batch when something of the
 * current batch became visible. Sluice's own answers are flushed with the next flush of the read
 * that caused them.
 */
final class ClientOutput {
  private final ClientPort port;
  private final OwedAnswers owed = new OwedAnswers();
  private final ReplayBatch retry;
  private boolean unflushed;

  ClientOutput(ClientPort port, ReplayBatch retry) {
    this.port = port;
    this.retry = retry;
  }

  ClientPort port() {
    return port;
  }

  OwedAnswers owed() {
    return owed;
  }

  /** A request that will be answered with a ReadyForQuery arrived. */
  void requested() {
    owed.requested(System.nanoTime());
  }

  /** A backend frame (or run), as it is: the client's now. */
  void relay(Frame f) {
    retry.markVisible();
    if (f.type() == BackendType.READY_FOR_QUERY.code()) {
      answered();
    }
    port.write(f.buf());
  }

  /** A message Sluice built itself; ReadyForQuery counts as an answer. */
  void own(ByteBuf buf, boolean ready) {
    retry.markVisible();
    if (ready) {
      answered();
    }
    port.write(buf);
    unflushed = true;
  }

  private void answered() {
    long took = owed.answered(System.nanoTime());
    if (took >= 0) {
      port.answered(took);
    }
  }

  void error(ErrorResponse err) {
    ByteBuf out = port.alloc().buffer(128);
    err.encode(out);
    own(out, false);
  }

  void ready(ReadyForQuery status) {
    ByteBuf out = port.alloc().buffer(6);
    status.encode(out);
    own(out, true);
  }

  /** A message with an empty body: ParseComplete, CloseComplete, ... */
  void empty(BackendType type) {
    ByteBuf out = port.alloc().buffer(5);
    out.writeByte(type.code()).writeInt(4);
    own(out, false);
  }

  void commandComplete(String tag) {
    ByteBuf out = port.alloc().buffer(tag.length() + 6);
    new CommandComplete(tag).encode(out);
    own(out, false);
  }

  /** Flushes Sluice's own answers written since the last flush, if any. */
  void flushOwn() {
    if (unflushed) {
      unflushed = false;
      port.flush();
    }
  }

  /** Flushes everything written. */
  void flush() {
    unflushed = false;
    port.flush();
  }
}
