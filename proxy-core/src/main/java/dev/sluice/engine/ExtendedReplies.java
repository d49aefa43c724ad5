package dev.sluice.engine;

import dev.sluice.protocol.BackendType;
import dev.sluice.protocol.Frame;
import dev.sluice.protocol.backend.ErrorResponse;
import dev.sluice.protocol.backend.ReadyForQuery;
import java.util.List;

/**
 * The response path's part for the extended query protocol: answers to Parse, Bind, Describe,
 * Execute and Close, and the Sync that ends their batch. A request that ends with an error puts the
 * backend into "skip until Sync", so the requests after it get no answer and are undone ({@link
 * Replies#undo}); a stale plan in a batch that can run again is held back, and the batch re-sent
 * once its Sync is answered ({@link ReplayBatch}).
 */
final class ExtendedReplies {
  private final ClientSession s;
  private final Replies replies;

  ExtendedReplies(ClientSession s, Replies replies) {
    this.s = s;
    this.replies = replies;
  }

  /** The ReadyForQuery that answers a Sync ends the batch; what comes before it is the client's. */
  void onSyncResponse(Frame f, BackendType type, Expected head) {
    if (type != BackendType.READY_FOR_QUERY) {
      // Only COPY traffic or an error can precede a Sync's ReadyForQuery; it is the client's.
      if (type == BackendType.ERROR_RESPONSE) {
        replies.noteFatal(f);
      }
      s.out.relay(f);
      return;
    }
    s.inFlight.poll();
    ReadyForQuery status = ReadyForQuery.ofFrame(f.buf());
    if (head.kind() == Expected.Kind.HIDDEN_SYNC) {
      f.release();
    } else if (s.retry.holdsError() && replayBatch(status)) {
      f.release();
      return;
    } else {
      Frame held = s.retry.takeError();
      if (held != null) {
        s.out.relay(held);
      }
      s.out.relay(f);
      s.retry.drop();
    }
    s.lease.afterReady(status);
  }

  /**
   * An answer to Parse, Bind, Describe, Execute or Close (the client's, or Sluice's hidden ones).
   */
  void onExtendedResponse(Frame f, BackendType type, Expected head) {
    if (type == BackendType.ERROR_RESPONSE) {
      onExtendedError(f, head);
      return;
    }
    boolean done =
        switch (head.kind()) {
          case DESCRIBE_STATEMENT -> type != BackendType.PARAMETER_DESCRIPTION;
          case EXECUTE -> {
            if (type == BackendType.COPY_IN_RESPONSE) {
              s.inFlight.copyIn(true);
            } else if (type == BackendType.COMMAND_COMPLETE) {
              replies.onCommandComplete(f);
            }
            yield type == BackendType.COMMAND_COMPLETE
                || type == BackendType.EMPTY_QUERY_RESPONSE
                || type == BackendType.PORTAL_SUSPENDED;
          }
          default -> true;
        };
    if (done) {
      s.inFlight.poll();
    }
    if (type == BackendType.PARSE_COMPLETE && head.key() != null) {
      s.pool.rememberStatement(head.key());
    }
    switch (head.kind()) {
      case HIDDEN_PARSE, HIDDEN_CLOSE, HIDDEN_FAIL -> f.release();
      default -> s.out.relay(f);
    }
    if (done) {
      replies.emitSynthetic();
    }
  }

  /**
   * An error answers the head request; the backend now skips everything up to the next Sync, and so
   * do we: those requests will get no answer.
   */
  private void onExtendedError(Frame f, Expected head) {
    s.inFlight.copyIn(false);
    boolean stale = isStalePlan(f, head);
    if (stale) {
      // The server's copy of the statement no longer fits its tables: whoever uses it next, on
      // this backend, gets it prepared afresh.
      s.server.session().statements().discardEverywhere(head.key());
      s.statements.refresh(head.key());
    }
    // A stale plan in a batch that can run again is held back: the client never sees it.
    if (!stale || !s.retry.hold(f)) {
      switch (head.kind()) {
        case HIDDEN_CLOSE, HIDDEN_FAIL -> replies.hide(f, BackendType.ERROR_RESPONSE);
        default -> {
          replies.noteFatal(f);
          s.out.relay(f);
        }
      }
    }
    replies.undo(s.inFlight.poll());
    s.inFlight.skipToSync(replies::undo);
  }

  // ---- running a batch again after a schema change ----

  /** PostgreSQL's 0A000 "cached plan must not change result type" for a client's statement. */
  private boolean isStalePlan(Frame f, Expected head) {
    return head.kind() == Expected.Kind.BIND
        && head.key() != null
        && s.server != null
        && ReplayBatch.isStalePlan(ErrorResponse.decode(f.body()));
  }

  /**
   * The failed batch has ended (its Sync answered {@code status}). When the failure left no
   * transaction behind and nothing else is in flight, send the whole batch again: the stale
   * statement was dropped, so it is prepared afresh on the way.
   */
  private boolean replayBatch(ReadyForQuery status) {
    List<Frame> again = s.retry.takeForRetry(status == ReadyForQuery.IDLE && s.inFlight.isEmpty());
    if (again == null) {
      return false;
    }
    s.stats.retries.increment();
    s.replaying = true;
    try {
      for (Frame f : again) {
        s.requests.forward(f, Classified.NONE);
      }
    } finally {
      s.replaying = false;
    }
    s.server.flush();
    s.wroteToServer = false;
    return true;
  }
}
