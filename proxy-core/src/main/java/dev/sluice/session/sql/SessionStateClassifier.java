package dev.sluice.session.sql;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * Finds, in the SQL text of a simple Query or an extended-protocol Parse, the statements that leave
 * session state behind which cannot follow a client to another backend in transaction pooling
 * (REFERENCE 4.3 and failure semantics 7), the settings Sluice replays itself, and the statements
 * that clear state.
 *
 * <p>What each statement yields, in order:
 *
 * <ul>
 *   <li>{@code SET [SESSION] name ...}, {@code SET name FROM CURRENT}, {@code RESET name}: a {@link
 *       Effect.TrackedSet} for a tracked setting, else a pin {@code "SET name"}. {@code TIME ZONE},
 *       {@code NAMES}, {@code SCHEMA}, {@code XML OPTION} mean {@code timezone}, {@code
 *       client_encoding}, {@code search_path}, {@code xmloption}. {@code SET ROLE}, {@code SET
 *       SESSION AUTHORIZATION}, their {@code RESET}s and {@code SET SESSION CHARACTERISTICS} pin.
 *       {@code SET LOCAL ...}, {@code SET TRANSACTION} and {@code SET CONSTRAINTS} do nothing.
 *   <li>{@code set_config(name, value, is_local)} anywhere in a statement: nothing if {@code
 *       is_local} is a literal true ({@code true}, {@code 't'}, {@code 'true'}, {@code 'on'},
 *       {@code 'yes'}, {@code '1'}, {@code 1}); else a tracked set if {@code name} is a string
 *       literal naming a tracked setting; else a pin.
 *   <li>{@code pg_advisory_lock}, {@code pg_try_advisory_lock} and their {@code _shared} forms: a
 *       pin; the {@code _xact_} forms and unlocks do nothing.
 *   <li>{@code LISTEN}, {@code LOAD}, {@code PREPARE} (not {@code PREPARE TRANSACTION}), {@code
 *       DECLARE ... WITH HOLD}, {@code CREATE TEMP TABLE|VIEW|SEQUENCE} (not a table {@code ON
 *       COMMIT DROP}), creating anything qualified with {@code pg_temp}, {@code SELECT ... INTO
 *       TEMP}, {@code UPDATE pg_settings}: a pin.
 *   <li>{@code DEALLOCATE}, {@code DISCARD ALL}, {@code RESET ALL}: their own effects.
 *   <li>{@code EXPLAIN ANALYZE} (or an option list that turns ANALYZE on): what the explained
 *       statement yields, since it runs; plain {@code EXPLAIN} yields nothing.
 * </ul>
 *
 * <p>Words inside string literals, dollar-quoted bodies, quoted identifiers and comments never
 * count. The flip side is the classifier's limit: code whose text it does not see cannot be judged.
 * A {@code DO} block, a function or procedure (including {@code CALL}), a view, rule or trigger
 * body, or {@code EXECUTE} of an SQL-prepared statement may create any state invisibly; so may
 * functions that keep state of their own ({@code currval}/{@code lastval} after {@code nextval},
 * dblink connections). Definitions are not executions: calls written in {@code CREATE FUNCTION},
 * {@code CREATE VIEW}, {@code PREPARE}, {@code GRANT}/{@code REVOKE}/{@code DROP}/{@code COMMENT}
 * do not count. Where the text is ambiguous the classifier pins rather than let state through; text
 * PostgreSQL would reject never runs, so it does not matter what it yields.
 *
 * <p>The text must be what the server will lex: the client's bytes decoded with the session's
 * client_encoding, and the session's standard_conforming_strings passed in. In SJIS, BIG5, GBK,
 * GB18030, UHC and JOHAB the second byte of a character may be {@code 0x5C}; decoding such text as
 * UTF-8 would turn it into a backslash and move the end of an {@code E'...'} string.
 *
 * <p>This runs on every Query and Parse, so it is one pass: tokens stream from a {@link SqlLexer}
 * and each is checked by a few comparisons. Only statements whose first word is one of the ten that
 * can create state by themselves (SET, RESET, CREATE, DECLARE, PREPARE, LISTEN, LOAD, DEALLOCATE,
 * DISCARD, EXPLAIN) have their tokens collected; literal values are decoded only for {@code
 * set_config} arguments; text without effects returns a shared {@link Classification#plain()}.
 */
public final class SessionStateClassifier {
  private SessionStateClassifier() {}

  /**
   * Classifies text sent with standard_conforming_strings on (PostgreSQL's default).
   *
   * @param trackedSettings lower-case names of the settings Sluice replays itself
   */
  public static Classification classify(String sql, Set<String> trackedSettings) {
    return classify(sql, trackedSettings, true);
  }

  /**
   * Classifies text for a session whose standard_conforming_strings is as given: when it is off, a
   * backslash escapes the next character in plain {@code '...'} strings, which changes where they
   * end.
   */
  public static Classification classify(
      String sql, Set<String> trackedSettings, boolean standardConformingStrings) {
    Objects.requireNonNull(sql, "sql");
    Objects.requireNonNull(trackedSettings, "trackedSettings");
    return new Pass(sql, trackedSettings, standardConformingStrings).run();
  }

  /** The state of one classification, statement by statement. */
  private static final class Pass {
    private final SqlLexer lexer;
    private final Set<String> tracked;
    private final CallScanner calls;
    private final List<SqlToken> head = new ArrayList<>();
    private List<Effect> effects;
    private boolean inStatement;
    private boolean readsHead;
    private boolean callsExecute;

    Pass(String sql, Set<String> tracked, boolean standardConformingStrings) {
      this.lexer = new SqlLexer(sql, standardConformingStrings);
      this.tracked = tracked;
      this.calls = new CallScanner(sql, tracked);
    }

    Classification run() {
      while (lexer.next()) {
        if (lexer.endsStatement()) {
          endStatement();
          continue;
        }
        if (!inStatement) {
          startStatement();
        }
        if (readsHead) {
          head.add(lexer.token());
        }
        calls.accept(lexer);
      }
      endStatement();
      return effects == null ? Classification.plain() : new Classification(effects);
    }

    private void startStatement() {
      inStatement = true;
      readsHead = StatementRules.readsHead(lexer);
      callsExecute = !StatementRules.onlyNamesRoutines(lexer);
      head.clear();
      calls.startStatement();
    }

    private void endStatement() {
      if (!inStatement) {
        return;
      }
      inStatement = false;
      StatementHead h =
          readsHead
              ? StatementRules.analyze(head, 0, tracked, 0)
              : callsExecute ? StatementHead.EXECUTES : StatementHead.DEFINES;
      List<Effect> fromCalls = calls.finishStatement();
      add(h.effects());
      if (h.callsExecute()) {
        add(fromCalls);
      }
    }

    private void add(List<Effect> more) {
      if (more.isEmpty()) {
        return;
      }
      if (effects == null) {
        effects = new ArrayList<>(more.size());
      }
      effects.addAll(more);
    }
  }
}
