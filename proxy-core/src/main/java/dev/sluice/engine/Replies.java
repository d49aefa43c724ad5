package dev.sluice.engine;

import dev.sluice.protocol.BackendType;
import dev.sluice.protocol.Frame;
import dev.sluice.protocol.backend.CommandComplete;
import dev.sluice.protocol.backend.ErrorResponse;
import dev.sluice.protocol.backend.ParameterStatus;
import dev.sluice.protocol.backend.ReadyForQuery;
import io.netty.buffer.ByteBuf;
import java.util.List;

/**
 * The response path of one client session. The head of {@link InFlight} says which request each
 * backend message answers; per frame this decides: <b>relay</b> it to the client, <b>hide</b> it
 * (answers to Sluice's own requests), or <b>capture</b> it (the read-back of settings; a stale-plan
 * error held for a replay). Answers Sluice owes the client are emitted when they reach the head.
 * Answers to the extended query protocol, up to their Sync, are read by {@link ExtendedReplies}.
 */
final class Replies {
  private final ClientSession s;
  private final ExtendedReplies extended;

  Replies(ClientSession s) {
    this.s = s;
    this.extended = new ExtendedReplies(s, this);
  }

  void onFrames(BackendPort from, List<Frame> frames) {
    if (from == s.server && !s.machine.is(ClientState.CLOSED) && holdLastWords(frames)) {
      return;
    }
    for (Frame f : frames) {
      if (from != s.server || s.machine.is(ClientState.CLOSED)) {
        f.release();
        continue;
      }
      try {
        onFrame(from, f);
      } catch (RuntimeException e) {
        s.backendUnreadable(from, e);
      }
    }
    if (!s.machine.is(ClientState.CLOSED)) {
      s.out.flush();
      if (s.server != null && !s.out.port().isWritable()) {
        s.server.setReading(false);
      }
    }
  }

  private void onFrame(BackendPort from, Frame f) {
    BackendType type = f.isRun() ? BackendType.DATA_ROW : BackendType.of(f.type());
    InFlight inFlight = s.inFlight;
    switch (type) {
      case PARAMETER_STATUS -> {
        relayParameterStatus(from, f);
        return;
      }
      case NOTICE_RESPONSE, NOTIFICATION_RESPONSE -> {
        if (hidden(inFlight.head())) {
          f.release();
        } else if (type == BackendType.NOTICE_RESPONSE
            && inFlight.head() != null
            && isGoodbye(f)
            && s.ends.holdGoodbye(f, false)) {
          // A backend told to quit by a crash of another (57P02 arrives as a warning before the
          // socket closes): like a FATAL, it must not make a replayable batch visible.
          return;
        } else {
          s.out.relay(f);
        }
        return;
      }
      default -> {}
    }
    Expected head = inFlight.head();
    if (type == BackendType.ERROR_RESPONSE
        && head != null
        && ErrorResponse.decode(f.body()).isFatal()
        && s.ends.holdGoodbye(f, true)) {
      // The backend is going away before the client saw anything of this batch: whether the
      // client hears of it is decided when the backend has closed (it may run elsewhere).
      return;
    }
    if (head == null) {
      // Nothing outstanding: a server's goodbye (FATAL) or something it volunteered.
      if (type == BackendType.ERROR_RESPONSE && ErrorResponse.decode(f.body()).isFatal()) {
        s.serverFatalRelayed = true;
      }
      s.out.relay(f);
      return;
    }
    switch (head.kind()) {
      case QUERY, FUNCTION_CALL -> onQueryResponse(f, type);
      case SETTINGS -> onSettingsResponse(f, type);
      case REJECTED_QUERY -> onRejectedQueryResponse(f, type);
      case CAPTURE -> onCaptureResponse(f, type, head);
      case SYNC, HIDDEN_SYNC -> extended.onSyncResponse(f, type, head);
      default -> extended.onExtendedResponse(f, type, head);
    }
  }

  /**
   * A backend told to quit flushes what it had buffered (ParseComplete, BindComplete,
   * RowDescription) just before its goodbye. When a read ends with such a goodbye while nothing of
   * the batch has reached the client, none of it is relayed: the goodbye is held as on its own, so
   * the batch can still run again elsewhere, and the rest is dropped (the batch either runs again
   * and answers afresh, or the client hears the goodbye and the session ends).
   */
  private boolean holdLastWords(List<Frame> frames) {
    if (frames.size() < 2 || !s.retry.unseen() || s.inFlight.head() == null) {
      return false;
    }
    Frame last = frames.get(frames.size() - 1);
    if (last.isRun()) {
      return false;
    }
    BackendType type = BackendType.of(last.type());
    boolean fatal =
        type == BackendType.ERROR_RESPONSE && ErrorResponse.decode(last.body()).isFatal();
    boolean goodbye = fatal || (type == BackendType.NOTICE_RESPONSE && isGoodbye(last));
    if (!goodbye || !s.ends.holdGoodbye(last, fatal)) {
      return false;
    }
    for (int i = 0; i < frames.size() - 1; i++) {
      frames.get(i).release();
    }
    return true;
  }

  /** A notice that the backend is about to go away (57P01, 57P02, 57P03). */
  private static boolean isGoodbye(Frame notice) {
    String code = ErrorResponse.decode(notice.body()).sqlState();
    return code != null && code.startsWith("57P");
  }

  private static boolean hidden(Expected e) {
    return e != null
        && (e.kind() == Expected.Kind.SETTINGS
            || e.kind() == Expected.Kind.HIDDEN_CLOSE
            || e.kind() == Expected.Kind.HIDDEN_SYNC
            || e.kind() == Expected.Kind.CAPTURE
            || e.kind() == Expected.Kind.REJECTED_QUERY);
  }

  /** The query failing in place of a refused one: only its ReadyForQuery reaches the client. */
  private void onRejectedQueryResponse(Frame f, BackendType type) {
    if (type != BackendType.READY_FOR_QUERY) {
      hide(f, type);
      return;
    }
    s.inFlight.poll();
    s.out.relay(f);
    s.lease.afterReady(ReadyForQuery.ofFrame(f.buf()));
  }

  /** The read-back of tracked settings: values recorded, everything hidden. */
  private void onCaptureResponse(Frame f, BackendType type, Expected head) {
    try {
      if (type == BackendType.DATA_ROW && s.server != null) {
        List<String> values = DataRows.firstRowText(f.buf());
        List<String> names = head.names();
        for (int i = 0; i < names.size() && i < values.size(); i++) {
          if (values.get(i) != null) {
            s.params.record(names.get(i), values.get(i), s.server.session().applied());
          }
        }
      } else if (type == BackendType.READY_FOR_QUERY) {
        s.inFlight.poll();
        s.lease.afterReady(ReadyForQuery.ofFrame(f.buf()));
      } else if (type == BackendType.ERROR_RESPONSE) {
        hide(new Frame(f.type(), f.buf().retain()), type);
      }
    } finally {
      f.release();
    }
  }

  /**
   * Drops a frame that answers Sluice's own request, except the server's goodbye: a FATAL error
   * (the backend is going away, say in a restart) reaches the client as the server said it.
   */
  void hide(Frame f, BackendType type) {
    if (type == BackendType.ERROR_RESPONSE && ErrorResponse.decode(f.body()).isFatal()) {
      s.serverFatalRelayed = true;
      s.out.relay(f);
    } else {
      f.release();
    }
  }

  /** Responses to the settings query; all hidden. */
  private void onSettingsResponse(Frame f, BackendType type) {
    try {
      if (type == BackendType.ERROR_RESPONSE) {
        ErrorResponse e = ErrorResponse.decode(f.body());
        if (!e.isFatal()) {
          s.settings.refused(e);
        }
        // A FATAL here is the backend going away before anything of the client's was sent:
        // the client waits for another one and never hears of it.
      } else if (type == BackendType.READY_FOR_QUERY) {
        s.inFlight.poll();
        s.settings.applied();
      }
    } finally {
      f.release();
    }
  }

  /** A simple Query or FunctionCall: everything is the client's, up to its ReadyForQuery. */
  private void onQueryResponse(Frame f, BackendType type) {
    switch (type) {
      case COPY_IN_RESPONSE -> s.inFlight.copyIn(true);
      case COMMAND_COMPLETE -> onCommandComplete(f);
      case ERROR_RESPONSE -> {
        // After an error the server has left COPY IN and ignores further CopyData.
        s.inFlight.copyIn(false);
        noteFatal(f);
      }
      case READY_FOR_QUERY -> {
        s.inFlight.poll();
        s.retry.drop();
        s.out.relay(f);
        s.lease.afterReady(ReadyForQuery.ofFrame(f.buf()));
        return;
      }
      default -> {}
    }
    s.out.relay(f);
  }

  /**
   * A request that failed or was skipped had no effect: a Parse created no statement (neither the
   * client's name nor, unless the backend already had it, the server-side one), and a client's
   * Close closed nothing.
   */
  void undo(Expected e) {
    if (e == null || e.key() == null) {
      return;
    }
    switch (e.kind()) {
      case PARSE, HIDDEN_PARSE -> {
        if (s.server != null) {
          s.server.session().statements().remove(e.key());
        }
        s.statements.forget(e.clientName(), e.key());
      }
      case SYNTH_PARSE_COMPLETE -> s.statements.forget(e.clientName(), e.key());
      case SYNTH_CLOSE_COMPLETE -> s.statements.restore(e.clientName(), e.key());
      default -> {}
    }
  }

  /** Sends what Sluice owes the client once everything before it has been answered. */
  void emitSynthetic() {
    Expected e;
    boolean ready = false;
    InFlight inFlight = s.inFlight;
    while ((e = inFlight.head()) != null && e.kind().synthetic()) {
      inFlight.poll();
      ByteBuf out = s.out.port().alloc().buffer(e.error() == null ? 16 : 128);
      switch (e.kind()) {
        case SYNTH_PARSE_COMPLETE -> out.writeByte(BackendType.PARSE_COMPLETE.code()).writeInt(4);
        case SYNTH_CLOSE_COMPLETE -> out.writeByte(BackendType.CLOSE_COMPLETE.code()).writeInt(4);
        case SYNTH_COMMAND_COMPLETE -> new CommandComplete(e.names().get(0)).encode(out);
        case SYNTH_READY -> {
          inFlight.txStatus().encode(out);
          ready = true;
        }
        default -> e.error().encode(out);
      }
      s.out.own(out, e.kind() == Expected.Kind.SYNTH_READY);
    }
    if (ready) {
      s.lease.releaseIfDone();
    }
  }

  private void relayParameterStatus(BackendPort from, Frame f) {
    ParameterStatus ps = ParameterStatus.decode(f.body());
    if (s.params.onReported(ps.name(), ps.value(), from.session().applied())) {
      s.out.relay(f);
    } else {
      f.release();
    }
  }

  void noteFatal(Frame f) {
    if (ErrorResponse.decode(f.body()).isFatal()) {
      s.serverFatalRelayed = true;
    }
  }

  /** A statement that cleared state went through: keep Sluice's bookkeeping true to it. */
  void onCommandComplete(Frame f) {
    int len = f.size();
    // Only "DISCARD ALL" (12 bytes with its NUL) and "DEALLOCATE ALL" (15) matter; skip the rest
    // without decoding.
    if (!s.transactionMode || s.server == null || (len != 5 + 12 && len != 5 + 15)) {
      return;
    }
    String tag = CommandComplete.decode(f.body()).tag();
    if (tag.equals("DISCARD ALL")) {
      s.statements.clear();
      s.params.resetToStartup();
      s.server.session().reset();
      s.gate.discardAll();
    } else if (tag.equals("DEALLOCATE ALL")) {
      s.statements.clear();
      s.server.session().statements().clear();
    }
  }
}
