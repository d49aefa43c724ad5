package dev.sluice.engine;

import dev.sluice.error.SqlState;
import dev.sluice.protocol.Frame;
import dev.sluice.protocol.FrontendType;
import dev.sluice.protocol.backend.ErrorResponse;
import dev.sluice.protocol.frontend.Bind;
import java.util.ArrayList;
import java.util.List;

/**
 * One client batch kept so it can be sent again: on the same backend after a schema change made a
 * shared prepared statement stale (PostgreSQL's 0A000 "cached plan must not change result type"),
 * or, where a {@link ReplayPolicy} allows it, on another backend after its backend went away before
 * any of its answer reached the client.
 *
 * <p>Kept: the client's own extended-protocol messages (retained, not copied) from the first of a
 * batch that starts with nothing outstanding and outside any transaction, up to its Sync, at most
 * {@value #LIMIT} bytes. The error is held back instead of reaching the client when nothing of the
 * batch has reached the client yet and its Binds ask for no per-column result formats (those were
 * chosen for the old result shape). When the batch's Sync is answered idle and nothing else is in
 * flight, the caller sends the kept messages again; otherwise it passes the held error on. Not
 * thread-safe: the client session's event loop owns it.
 */
public final class ReplayBatch {
  public static final int LIMIT = 256 * 1024;

  private List<Frame> frames;
  private int bytes;
  private boolean closed;
  private boolean visible;
  private Frame heldError;

  /**
   * Offers one client message about to be sent. {@code fresh} says whether a new batch may start
   * here: nothing outstanding, no transaction, no batch open.
   */
  public void offer(Frame f, FrontendType type, boolean fresh) {
    if (type == FrontendType.QUERY) {
      // A simple Query is a whole batch by itself.
      drop();
      if (fresh && f.size() <= LIMIT) {
        frames = new ArrayList<>(1);
        frames.add(new Frame(f.type(), f.buf().retainedDuplicate()));
        bytes = f.size();
        closed = true;
        visible = false;
      }
      return;
    }
    boolean extended =
        switch (type) {
          case PARSE, BIND, DESCRIBE, EXECUTE, CLOSE, FLUSH, SYNC -> true;
          default -> false;
        };
    if (!extended) {
      drop();
      return;
    }
    if (frames == null) {
      if (!fresh) {
        return;
      }
      frames = new ArrayList<>();
      bytes = 0;
      closed = false;
      visible = false;
    } else if (closed) {
      // The client pipelined another batch behind the kept one: sending the kept one again
      // would put its answers after this one's, so neither is retried.
      drop();
      return;
    }
    bytes += f.size();
    if (bytes > LIMIT) {
      drop();
      return;
    }
    frames.add(new Frame(f.type(), f.buf().retainedDuplicate()));
    if (type == FrontendType.SYNC) {
      closed = true;
    }
  }

  /** Whether a whole batch is kept, nothing of its answer has reached the client yet. */
  public boolean unseen() {
    return frames != null && closed && !visible && heldError == null;
  }

  /** The kept batch, for a look (not handed over); empty when none. */
  public List<Frame> peek() {
    return frames == null ? List.of() : frames;
  }

  /** Something of the current batch reached the client: it can no longer be hidden. */
  public void markVisible() {
    visible = true;
  }

  /**
   * Holds back {@code error} (a stale-plan answer to a Bind of a client's statement) when the batch
   * can be sent again; the caller then neither forwards nor releases it.
   */
  public boolean hold(Frame error) {
    if (frames == null
        || visible
        || heldError != null
        || !frames.stream()
            .filter(m -> m.type() == FrontendType.BIND.code())
            .allMatch(m -> fitsAnyShape(Bind.resultFormatCount(m.body())))) {
      return false;
    }
    heldError = error;
    return true;
  }

  private static boolean fitsAnyShape(int resultFormats) {
    return resultFormats == 0 || resultFormats == 1;
  }

  public boolean holdsError() {
    return heldError != null;
  }

  /**
   * The batch's Sync was answered: the frames to send again (ownership passes to the caller), or
   * null when the batch must not be retried (then {@link #takeError()} gives the held error to pass
   * on).
   */
  public List<Frame> takeForRetry(boolean idleAndNothingOutstanding) {
    if (heldError == null || !idleAndNothingOutstanding || frames == null || !closed) {
      return null;
    }
    heldError.release();
    heldError = null;
    List<Frame> again = frames;
    frames = null;
    return again;
  }

  /**
   * The backend went away: the whole kept batch (ownership passes to the caller) when nothing of
   * its answer reached the client and no error is held; null otherwise.
   */
  public List<Frame> takeForReplay() {
    if (frames == null || !closed || visible || heldError != null) {
      return null;
    }
    List<Frame> again = frames;
    frames = null;
    return again;
  }

  /** The held error, for the client after all; null if none. */
  public Frame takeError() {
    Frame e = heldError;
    heldError = null;
    return e;
  }

  /** The batch ended normally, or tracking stops: release what was kept. */
  public void drop() {
    if (frames != null) {
      frames.forEach(Frame::release);
      frames = null;
    }
  }

  /** The session ends. */
  public void close() {
    drop();
    if (heldError != null) {
      heldError.release();
      heldError = null;
    }
  }

  /** PostgreSQL's 0A000 "cached plan must not change result type". */
  public static boolean isStalePlan(ErrorResponse e) {
    return e.sqlState().equals(SqlState.FEATURE_NOT_SUPPORTED.code())
        && e.message().startsWith("cached plan must not change result type");
  }
}
