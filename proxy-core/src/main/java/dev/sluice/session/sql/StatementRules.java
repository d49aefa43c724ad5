package dev.sluice.session.sql;

import java.util.List;
import java.util.Set;

/**
 * Reads the leading words of the statements that can create session state. Only statements whose
 * first word is one of {@link #readsHead these} have their tokens collected at all; every other
 * statement is only streamed past {@link CallScanner}.
 */
final class StatementRules {
  /** EXPLAIN cannot explain EXPLAIN; the bound only keeps malformed text cheap. */
  private static final int MAX_NESTING = 3;

  private StatementRules() {}

  /** Whether the statement starting at the lexer's current token needs its head read. */
  static boolean readsHead(SqlLexer lx) {
    return lx.isWord("set")
        || lx.isWord("reset")
        || lx.isWord("create")
        || lx.isWord("declare")
        || lx.isWord("prepare")
        || lx.isWord("listen")
        || lx.isWord("load")
        || lx.isWord("deallocate")
        || lx.isWord("discard")
        || lx.isWord("explain");
  }

  /**
   * Whether the statement starting here only names functions ({@code GRANT EXECUTE ON FUNCTION
   * pg_advisory_lock(bigint)}, {@code DROP FUNCTION}, {@code COMMENT ON FUNCTION}) without running
   * them. {@code ALTER} is not among them: {@code ALTER TABLE ... ADD COLUMN ... DEFAULT f()}
   * evaluates {@code f} for every existing row.
   */
  static boolean onlyNamesRoutines(SqlLexer lx) {
    return lx.isWord("grant") || lx.isWord("revoke") || lx.isWord("drop") || lx.isWord("comment");
  }

  static StatementHead analyze(List<SqlToken> t, int from, Set<String> tracked, int nesting) {
    if (from >= t.size() || t.get(from).kind() != SqlToken.Kind.IDENTIFIER) {
      return StatementHead.EXECUTES;
    }
    SqlToken first = t.get(from);
    int i = from + 1;
    if (first.quoted()) {
      return StatementHead.EXECUTES;
    }
    return switch (first.text()) {
      case "set" -> SetCommands.set(t, i, tracked);
      case "reset" -> SetCommands.reset(t, i, tracked);
      case "create" -> create(t, i);
      case "declare" -> declare(t, i);
      case "prepare" -> prepare(t, i);
      case "listen" -> i < t.size() ? StatementHead.pin("LISTEN") : StatementHead.EXECUTES;
      case "load" -> i < t.size() ? StatementHead.pin("LOAD") : StatementHead.EXECUTES;
      case "deallocate" -> deallocate(t, i);
      case "discard" ->
          word(t, i, "all") ? StatementHead.of(new Effect.DiscardAll()) : StatementHead.EXECUTES;
      case "explain" -> explain(t, i, tracked, nesting);
      default -> StatementHead.EXECUTES;
    };
  }

  static boolean word(List<SqlToken> t, int i, String lowerCaseWord) {
    return i < t.size() && t.get(i).isWord(lowerCaseWord);
  }

  static boolean punctuation(List<SqlToken> t, int i, String p) {
    return i < t.size() && t.get(i).isPunctuation(p);
  }

  /** {@code pg_temp}, or a backend's own temporary schema {@code pg_temp_N}. */
  static boolean isTempSchema(String name) {
    if (name.equals("pg_temp")) {
      return true;
    }
    if (!name.startsWith("pg_temp_") || name.length() == 8) {
      return false;
    }
    for (int k = 8; k < name.length(); k++) {
      if (!SqlSyntax.isDigit(name.charAt(k))) {
        return false;
      }
    }
    return true;
  }

  /**
   * {@code CREATE [OR REPLACE] [GLOBAL|LOCAL] {TEMP|TEMPORARY} {TABLE|VIEW|SEQUENCE}}, and any
   * object created in {@code pg_temp} by qualified name, which is temporary too.
   */
  private static StatementHead create(List<SqlToken> t, int i) {
    if (word(t, i, "or") && word(t, i + 1, "replace")) {
      i += 2;
    }
    if ((word(t, i, "global") || word(t, i, "local")) && isTemp(t, i + 1)) {
      i++;
    }
    if (isTemp(t, i)) {
      return createTemp(t, i + 1);
    }
    boolean definition =
        word(t, i, "function")
            || word(t, i, "procedure")
            || word(t, i, "view")
            || word(t, i, "rule")
            || word(t, i, "trigger")
            || (word(t, i, "recursive") && word(t, i + 1, "view"))
            || (word(t, i, "constraint") && word(t, i + 1, "trigger"));
    if (namesTempSchema(t, i)) {
      return new StatementHead(List.of(new Effect.Pin("CREATE in pg_temp")), !definition);
    }
    return definition ? StatementHead.DEFINES : StatementHead.EXECUTES;
  }

  private static StatementHead createTemp(List<SqlToken> t, int i) {
    if (word(t, i, "unlogged")) {
      i++;
    }
    if (word(t, i, "table")) {
      return onCommitDrop(t, i + 1)
          ? StatementHead.EXECUTES
          : StatementHead.pin("CREATE TEMP TABLE");
    }
    if (word(t, i, "sequence")) {
      return StatementHead.pin("CREATE TEMP SEQUENCE");
    }
    if (word(t, i, "view") || (word(t, i, "recursive") && word(t, i + 1, "view"))) {
      return new StatementHead(List.of(new Effect.Pin("CREATE TEMP VIEW")), false);
    }
    return StatementHead.pin("CREATE TEMP");
  }

  private static boolean isTemp(List<SqlToken> t, int i) {
    return word(t, i, "temp") || word(t, i, "temporary");
  }

  /**
   * Whether {@code ON COMMIT DROP} appears outside parentheses before a top-level {@code AS} (where
   * the query of {@code CREATE TEMP TABLE ... AS} begins): such a table ends with its transaction.
   */
  private static boolean onCommitDrop(List<SqlToken> t, int i) {
    int depth = 0;
    for (int j = i; j < t.size(); j++) {
      SqlToken tok = t.get(j);
      if (tok.isPunctuation("(")) {
        depth++;
      } else if (tok.isPunctuation(")")) {
        depth = Math.max(0, depth - 1);
      } else if (depth == 0 && tok.isWord("as")) {
        return false;
      } else if (depth == 0
          && tok.isWord("on")
          && word(t, j + 1, "commit")
          && word(t, j + 2, "drop")) {
        return true;
      }
    }
    return false;
  }

  private static boolean namesTempSchema(List<SqlToken> t, int i) {
    for (int j = i; j + 1 < t.size(); j++) {
      SqlToken tok = t.get(j);
      if (tok.kind() == SqlToken.Kind.IDENTIFIER
          && isTempSchema(tok.text())
          && t.get(j + 1).isPunctuation(".")) {
        return true;
      }
    }
    return false;
  }

  /** {@code DECLARE name [options] CURSOR [WITH HOLD] FOR query}: HOLD comes before FOR. */
  private static StatementHead declare(List<SqlToken> t, int i) {
    for (int j = i; j < t.size() && !t.get(j).isWord("for"); j++) {
      if (t.get(j).isWord("with") && word(t, j + 1, "hold")) {
        return StatementHead.pin("DECLARE ... WITH HOLD");
      }
    }
    return StatementHead.EXECUTES;
  }

  /**
   * {@code PREPARE name [(types)] AS statement} pins; the statement does not run yet, so its calls
   * do not count. {@code PREPARE TRANSACTION 'gid'} is two-phase commit.
   */
  private static StatementHead prepare(List<SqlToken> t, int i) {
    if (i >= t.size()) {
      return StatementHead.EXECUTES;
    }
    if (word(t, i, "transaction")
        && i + 1 < t.size()
        && t.get(i + 1).kind() == SqlToken.Kind.STRING) {
      return StatementHead.EXECUTES;
    }
    return new StatementHead(List.of(new Effect.Pin("PREPARE")), false);
  }

  /** {@code DEALLOCATE [PREPARE] {name | ALL}}; a quoted {@code "all"} is a name. */
  private static StatementHead deallocate(List<SqlToken> t, int i) {
    if (word(t, i, "prepare") && i + 1 < t.size()) {
      i++;
    }
    if (i >= t.size() || t.get(i).kind() != SqlToken.Kind.IDENTIFIER) {
      return StatementHead.EXECUTES;
    }
    SqlToken name = t.get(i);
    return StatementHead.of(
        name.isWord("all") ? Effect.Deallocate.all() : new Effect.Deallocate(name.text()));
  }

  /**
   * {@code EXPLAIN [ANALYZE] [VERBOSE] statement} or {@code EXPLAIN (option [value], ...)
   * statement}. Only ANALYZE runs the statement; otherwise nothing in it counts.
   */
  private static StatementHead explain(List<SqlToken> t, int i, Set<String> tracked, int nesting) {
    boolean analyze;
    if (punctuation(t, i, "(")) {
      int close = closingParenthesis(t, i);
      analyze = analyzeOption(t, i + 1, close);
      i = close + 1;
    } else {
      analyze = word(t, i, "analyze") || word(t, i, "analyse");
      if (analyze) {
        i++;
      }
      if (word(t, i, "verbose")) {
        i++;
      }
    }
    if (!analyze) {
      return StatementHead.DEFINES;
    }
    return nesting >= MAX_NESTING ? StatementHead.EXECUTES : analyze(t, i, tracked, nesting + 1);
  }

  private static int closingParenthesis(List<SqlToken> t, int open) {
    int depth = 0;
    for (int j = open; j < t.size(); j++) {
      if (t.get(j).isPunctuation("(")) {
        depth++;
      } else if (t.get(j).isPunctuation(")") && --depth == 0) {
        return j;
      }
    }
    return t.size();
  }

  /** Whether an option list turns ANALYZE on; only an explicit false/off/no/0 turns it off. */
  private static boolean analyzeOption(List<SqlToken> t, int from, int to) {
    boolean analyze = false;
    int j = from;
    while (j < to) {
      int end = j;
      while (end < to && !t.get(end).isPunctuation(",")) {
        end++;
      }
      if (isAnalyzeOption(t.get(j))) {
        analyze |= end == j + 1 || !isFalse(t.get(j + 1));
      }
      j = end + 1;
    }
    return analyze;
  }

  /** Option names are plain names here, so a quoted {@code "analyze"} is ANALYZE too. */
  private static boolean isAnalyzeOption(SqlToken name) {
    return name.kind() == SqlToken.Kind.IDENTIFIER
        && (name.text().equals("analyze") || name.text().equals("analyse"));
  }

  private static boolean isFalse(SqlToken value) {
    return switch (SqlLiterals.lowerAscii(value.text())) {
      case "false", "off", "no", "0" -> true;
      default -> false;
    };
  }
}
