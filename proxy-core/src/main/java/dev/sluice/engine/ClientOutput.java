package dev.sluice.engine;

import dev.sluice.cache.CacheFill;
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

  /** The cache fill the current answer goes to, or null. */
  private CacheFill capture;

  /** The current answer is a stale entry's refresh: the client was answered already. */
  private boolean suppress;

  /**
   * A refresh's frames, kept out of the client's stream; released at the next flush, since callers
   * may still read a frame after handing it over (as they may before a real write is flushed).
   */
  private final java.util.ArrayList<ByteBuf> withheld = new java.util.ArrayList<>();

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

  /**
   * Everything the client is sent from now up to the next ReadyForQuery is copied to {@code fill};
   * with {@code suppressOutput}, it is not sent at all (the client had its answer from the cache,
   * and this is the refresh of a stale entry).
   */
  void capture(CacheFill fill, boolean suppressOutput) {
    capture = fill;
    suppress = suppressOutput;
  }

  private void releaseWithheld() {
    if (!withheld.isEmpty()) {
      for (ByteBuf b : withheld) {
        b.release();
      }
      withheld.clear();
    }
  }

  /** The answer being captured will not complete (the session or its backend went away). */
  void abortCapture() {
    releaseWithheld();
    CacheFill c = capture;
    capture = null;
    suppress = false;
    if (c != null) {
      c.end(false);
    }
  }

  /**
   * Passes one outgoing message to the capture; true when it must not reach the client (a refresh's
   * answer).
   */
  private boolean captured(byte type, ByteBuf wire, boolean ready) {
    CacheFill c = capture;
    boolean hide = suppress;
    if (ready) {
      capture = null;
      suppress = false;
      c.end(wire.getByte(wire.readerIndex() + 5) == ReadyForQuery.IDLE.status());
    } else {
      int n = wire.readableBytes();
      int at = c.reserve(type, n);
      if (at >= 0) {
        wire.getBytes(wire.readerIndex(), c.buffer(), at, n);
        c.commit(n);
      }
    }
    return hide;
  }

  /** A backend frame (or run), as it is: the client's now. */
  void relay(Frame f) {
    boolean ready = !f.isRun() && f.type() == BackendType.READY_FOR_QUERY.code();
    if (capture != null
        && captured(f.isRun() ? BackendType.DATA_ROW.code() : f.type(), f.buf(), ready)) {
      withheld.add(f.buf());
      return;
    }
    retry.markVisible();
    if (ready) {
      answered();
    }
    port.write(f.buf());
  }

  /** A message Sluice built itself; ReadyForQuery counts as an answer. */
  void own(ByteBuf buf, boolean ready) {
    if (capture != null && captured(buf.getByte(buf.readerIndex()), buf, ready)) {
      withheld.add(buf);
      return;
    }
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
    releaseWithheld();
    if (unflushed) {
      unflushed = false;
      port.flush();
    }
  }

  /** Flushes everything written. */
  void flush() {
    releaseWithheld();
    unflushed = false;
    port.flush();
  }
}
