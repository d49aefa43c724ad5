package dev.sluice.engine;

import dev.sluice.protocol.backend.ErrorResponse;
import dev.sluice.session.StatementKey;
import java.util.List;

/**
 * One response the client session expects from its backend (or owes the client itself), in the
 * order the requests went out. The protocol answers every request in order, so the head of the
 * queue always says what the next backend message belongs to and whether the client sees it.
 *
 * @param kind what was sent
 * @param key for (hidden) Parse: the statement being prepared
 * @param clientName for a client Parse: the client's name, forgotten if the Parse fails
 * @param error for {@link Kind#SYNTH_ERROR}: the error Sluice sends itself
 * @param names for {@link Kind#CAPTURE}: the settings read back; for {@link
 *     Kind#SYNTH_COMMAND_COMPLETE}: the command tag
 */
public record Expected(
    Kind kind, StatementKey key, String clientName, ErrorResponse error, List<String> names) {

  public enum Kind {
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
    /**
     * A failing simple Query sent in place of a refused one: its error is hidden (Sluice's own
     * precedes it), its ReadyForQuery is the client's.
     */
    REJECTED_QUERY,
    /** A query reading back settings the client SET that the server does not report; hidden. */
    CAPTURE,
    /** The settings query run when a backend is attached; all hidden. */
    SETTINGS,
    /** ParseComplete Sluice owes the client (the backend already had the statement). */
    SYNTH_PARSE_COMPLETE,
    /** CloseComplete Sluice owes the client (closing a client's statement is local). */
    SYNTH_CLOSE_COMPLETE,
    /** An ErrorResponse Sluice owes the client, as PostgreSQL would have sent it. */
    SYNTH_ERROR,
    /** A CommandComplete Sluice owes the client (a statement it answered itself). */
    SYNTH_COMMAND_COMPLETE,
    /** The ReadyForQuery ending a simple Query Sluice answered itself. */
    SYNTH_READY;

    /** Entries Sluice answers itself, emitted when they reach the head of the queue. */
    public boolean synthetic() {
      return this == SYNTH_PARSE_COMPLETE
          || this == SYNTH_CLOSE_COMPLETE
          || this == SYNTH_ERROR
          || this == SYNTH_COMMAND_COMPLETE
          || this == SYNTH_READY;
    }

    /** Entries that end an error's skip: the backend answers a Sync even after an error. */
    public boolean sync() {
      return this == SYNC || this == HIDDEN_SYNC;
    }
  }

  public static final Expected QUERY = new Expected(Kind.QUERY, null, null, null, null);
  public static final Expected FUNCTION_CALL =
      new Expected(Kind.FUNCTION_CALL, null, null, null, null);
  public static final Expected PARSE = new Expected(Kind.PARSE, null, null, null, null);
  public static final Expected BIND = new Expected(Kind.BIND, null, null, null, null);
  public static final Expected DESCRIBE_STATEMENT =
      new Expected(Kind.DESCRIBE_STATEMENT, null, null, null, null);
  public static final Expected DESCRIBE_PORTAL =
      new Expected(Kind.DESCRIBE_PORTAL, null, null, null, null);
  public static final Expected EXECUTE = new Expected(Kind.EXECUTE, null, null, null, null);
  public static final Expected CLOSE = new Expected(Kind.CLOSE, null, null, null, null);
  public static final Expected SYNC = new Expected(Kind.SYNC, null, null, null, null);
  public static final Expected HIDDEN_CLOSE =
      new Expected(Kind.HIDDEN_CLOSE, null, null, null, null);
  public static final Expected HIDDEN_SYNC = new Expected(Kind.HIDDEN_SYNC, null, null, null, null);
  public static final Expected HIDDEN_FAIL = new Expected(Kind.HIDDEN_FAIL, null, null, null, null);
  public static final Expected SETTINGS = new Expected(Kind.SETTINGS, null, null, null, null);
  public static final Expected REJECTED_QUERY =
      new Expected(Kind.REJECTED_QUERY, null, null, null, null);
  public static final Expected SYNTH_READY = new Expected(Kind.SYNTH_READY, null, null, null, null);
  public static final Expected SYNTH_CLOSE_COMPLETE =
      new Expected(Kind.SYNTH_CLOSE_COMPLETE, null, null, null, null);

  public static Expected parse(StatementKey key, String clientName) {
    return new Expected(Kind.PARSE, key, clientName, null, null);
  }

  public static Expected synthParse(StatementKey key, String clientName) {
    return new Expected(Kind.SYNTH_PARSE_COMPLETE, key, clientName, null, null);
  }

  public static Expected synthClose(StatementKey key, String clientName) {
    return new Expected(Kind.SYNTH_CLOSE_COMPLETE, key, clientName, null, null);
  }

  /** A Bind of a client's named statement, renamed to the server-side statement of {@code key}. */
  public static Expected bind(StatementKey key) {
    return new Expected(Kind.BIND, key, null, null, null);
  }

  public static Expected hiddenParse(StatementKey key) {
    return new Expected(Kind.HIDDEN_PARSE, key, null, null, null);
  }

  public static Expected error(ErrorResponse error) {
    return new Expected(Kind.SYNTH_ERROR, null, null, error, null);
  }

  public static Expected capture(List<String> names) {
    return new Expected(Kind.CAPTURE, null, null, null, List.copyOf(names));
  }

  public static Expected commandComplete(String tag) {
    return new Expected(Kind.SYNTH_COMMAND_COMPLETE, null, null, null, List.of(tag));
  }
}
