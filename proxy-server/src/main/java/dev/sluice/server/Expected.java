package dev.sluice.server;

import dev.sluice.protocol.backend.ErrorResponse;
import dev.sluice.session.StatementKey;

/**
 * One response the client session expects from its backend (or owes the client itself), in the
 * order the requests went out. The protocol answers every request in order, so the head of the
 * queue always says what the next backend message belongs to and whether the client sees it.
 *
 * @param kind what was sent
 * @param key for (hidden) Parse: the statement being prepared
 * @param clientName for a client Parse: the client's name, forgotten if the Parse fails
 * @param error for {@link Kind#SYNTH_ERROR}: the error Sluice sends itself
 */
record Expected(Kind kind, StatementKey key, String clientName, ErrorResponse error) {

  enum Kind {
    /** A simple Query: everything up to and including ReadyForQuery goes to the client. */
    QUERY,
    /** FunctionCall: FunctionCallResponse, then ReadyForQuery. */
    FUNCTION_CALL,
    PARSE,
    BIND,
    DESCRIBE_STATEMENT,
    DESCRIBE_PORTAL,
    EXECUTE,
    CLOSE,
    SYNC,
    /** Parse Sluice sent to prepare a client's statement on this backend; ParseComplete hidden. */
    HIDDEN_PARSE,
    /** Close of an evicted server-side statement; answer hidden. */
    HIDDEN_CLOSE,
    /** Sync Sluice sent after hidden Closes; ReadyForQuery hidden. */
    HIDDEN_SYNC,
    /** A message sent to fail the backend's batch after a synthetic error; error hidden. */
    HIDDEN_FAIL,
    /** The settings query run when a backend is attached; all hidden. */
    SETTINGS,
    /** ParseComplete Sluice owes the client (the backend already had the statement). */
    SYNTH_PARSE_COMPLETE,
    /** CloseComplete Sluice owes the client (closing a client's statement is local). */
    SYNTH_CLOSE_COMPLETE,
    /** An ErrorResponse Sluice owes the client, as PostgreSQL would have sent it. */
    SYNTH_ERROR;

    /** Entries Sluice answers itself, emitted when they reach the head of the queue. */
    boolean synthetic() {
      return this == SYNTH_PARSE_COMPLETE || this == SYNTH_CLOSE_COMPLETE || this == SYNTH_ERROR;
    }

    /** Entries that end an error's skip: the backend answers a Sync even after an error. */
    boolean sync() {
      return this == SYNC || this == HIDDEN_SYNC;
    }
  }

  static final Expected QUERY = new Expected(Kind.QUERY, null, null, null);
  static final Expected FUNCTION_CALL = new Expected(Kind.FUNCTION_CALL, null, null, null);
  static final Expected PARSE = new Expected(Kind.PARSE, null, null, null);
  static final Expected BIND = new Expected(Kind.BIND, null, null, null);
  static final Expected DESCRIBE_STATEMENT =
      new Expected(Kind.DESCRIBE_STATEMENT, null, null, null);
  static final Expected DESCRIBE_PORTAL = new Expected(Kind.DESCRIBE_PORTAL, null, null, null);
  static final Expected EXECUTE = new Expected(Kind.EXECUTE, null, null, null);
  static final Expected CLOSE = new Expected(Kind.CLOSE, null, null, null);
  static final Expected SYNC = new Expected(Kind.SYNC, null, null, null);
  static final Expected HIDDEN_CLOSE = new Expected(Kind.HIDDEN_CLOSE, null, null, null);
  static final Expected HIDDEN_SYNC = new Expected(Kind.HIDDEN_SYNC, null, null, null);
  static final Expected HIDDEN_FAIL = new Expected(Kind.HIDDEN_FAIL, null, null, null);
  static final Expected SETTINGS = new Expected(Kind.SETTINGS, null, null, null);
  static final Expected SYNTH_PARSE_COMPLETE =
      new Expected(Kind.SYNTH_PARSE_COMPLETE, null, null, null);
  static final Expected SYNTH_CLOSE_COMPLETE =
      new Expected(Kind.SYNTH_CLOSE_COMPLETE, null, null, null);

  static Expected parse(StatementKey key, String clientName) {
    return new Expected(Kind.PARSE, key, clientName, null);
  }

  static Expected synthParse(StatementKey key, String clientName) {
    return new Expected(Kind.SYNTH_PARSE_COMPLETE, key, clientName, null);
  }

  static Expected synthClose(StatementKey key, String clientName) {
    return new Expected(Kind.SYNTH_CLOSE_COMPLETE, key, clientName, null);
  }

  static Expected hiddenParse(StatementKey key) {
    return new Expected(Kind.HIDDEN_PARSE, key, null, null);
  }

  static Expected error(ErrorResponse error) {
    return new Expected(Kind.SYNTH_ERROR, null, null, error);
  }
}
