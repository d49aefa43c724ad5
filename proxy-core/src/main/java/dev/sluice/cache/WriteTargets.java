package dev.sluice.cache;

import dev.sluice.session.sql.SqlLexer;
import dev.sluice.session.sql.SqlToken;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * What a statement may change, for the cache's invalidation: the tables it writes, named as written
 * (the last part of the name: invalidation is by table name in every schema), or {@link #all()}
 * when its effect cannot be known from its text (DDL, GRANT/REVOKE, CALL, DO, a call of a user
 * function that is not IMMUTABLE or STABLE, a statement Sluice does not recognise).
 *
 * <p>Read from the statement's tokens, never by searching its text; mistakes err towards
 * "everything".
 *
 * @param tables the tables written, folded as PostgreSQL folds identifiers
 * @param everything the database's whole cache is suspect
 */
public record WriteTargets(Set<String> tables, boolean everything) {
  private static final WriteTargets NONE = new WriteTargets(Set.of(), false);
  private static final WriteTargets EVERYTHING = new WriteTargets(Set.of(), true);

  /** Statements that change no table data. */
  private static final Set<String> HARMLESS =
      Set.of(
          "select",
          "values",
          "table",
          "show",
          "set",
          "reset",
          "begin",
          "start",
          "commit",
          "end",
          "rollback",
          "abort",
          "savepoint",
          "release",
          "prepare",
          "deallocate",
          "discard",
          "listen",
          "unlisten",
          "notify",
          "fetch",
          "move",
          "close",
          "declare",
          "lock",
          "analyze",
          "vacuum",
          "checkpoint",
          "load",
          "explain",
          "with",
          "copy",
          "insert",
          "update",
          "delete",
          "merge",
          "truncate",
          "refresh",
          "cluster",
          "reindex",
          "comment");

  public WriteTargets {
    tables = Collections.unmodifiableSet(new LinkedHashSet<>(tables));
  }

  public static WriteTargets none() {
    return NONE;
  }

  public static WriteTargets all() {
    return EVERYTHING;
  }

  public boolean isNone() {
    return !everything && tables.isEmpty();
  }

  public WriteTargets plus(WriteTargets other) {
    if (everything || other.isNone()) {
      return this;
    }
    if (other.everything || isNone()) {
      return other;
    }
    Set<String> union = new LinkedHashSet<>(tables);
    union.addAll(other.tables);
    return new WriteTargets(union, false);
  }

  /**
   * The writes of {@code sql}, every statement of it.
   *
   * @param read the statement's cacheability, whose functions were already looked up
   * @param catalog the volatility of the backend's functions
   */
  static WriteTargets of(
      String sql,
      boolean standardConformingStrings,
      Cacheability read,
      FunctionVolatility catalog) {
    if (read.cacheable()) {
      return NONE;
    }
    List<List<SqlToken>> statements = new ArrayList<>();
    if (!SqlLexer.statementsInto(sql, standardConformingStrings, statements)) {
      // PostgreSQL rejects the text: it changes nothing.
      return NONE;
    }
    WriteTargets all = NONE;
    for (List<SqlToken> statement : statements) {
      all = all.plus(ofStatement(statement, catalog));
      if (all.everything) {
        return all;
      }
    }
    return all;
  }

  private static WriteTargets ofStatement(List<SqlToken> t, FunctionVolatility catalog) {
    SqlToken first = t.get(0);
    if (first.kind() != SqlToken.Kind.IDENTIFIER || first.quoted()) {
      return first.isPunctuation("(") ? scan(t, 0, catalog) : EVERYTHING;
    }
    String word = first.text();
    if (!HARMLESS.contains(word)) {
      // DDL, GRANT/REVOKE, CALL, DO, EXECUTE, SECURITY LABEL, IMPORT FOREIGN SCHEMA, ...
      return EVERYTHING;
    }
    if (word.equals("explain") && !hasWord(t, "analyze")) {
      return NONE;
    }
    if (word.equals("select") && hasWord(t, "into")) {
      // SELECT ... INTO creates a table
      return EVERYTHING;
    }
    return scan(t, 0, catalog);
  }

  /** The write targets in tokens {@code from..}: every INSERT/UPDATE/... clause, any function. */
  private static WriteTargets scan(List<SqlToken> t, int from, FunctionVolatility catalog) {
    Set<String> tables = new LinkedHashSet<>();
    for (int i = from; i < t.size(); i++) {
      SqlToken k = t.get(i);
      if (k.kind() != SqlToken.Kind.IDENTIFIER) {
        continue;
      }
      if (!k.quoted() && i + 1 < t.size() && t.get(i + 1).isPunctuation("(")) {
        if (writesThroughFunction(t, i, catalog)) {
          return EVERYTHING;
        }
      }
      if (k.quoted()) {
        continue;
      }
      int target =
          switch (k.text()) {
            case "insert", "merge" -> expect(t, i + 1, "into");
            case "update" -> i + 1;
            case "delete" -> expect(t, i + 1, "from");
            case "truncate" -> skipWord(t, i + 1, "table");
            case "refresh" -> expect(t, expect(t, i + 1, "materialized"), "view");
            case "copy" -> i == 0 ? i + 1 : -1;
            default -> -1;
          };
      if (target < 0 || target >= t.size()) {
        continue;
      }
      if (k.isWord("copy") && !copiesIn(t)) {
        continue;
      }
      if (k.isWord("update") && i > 0 && t.get(i - 1).isWord("for")) {
        continue; // SELECT ... FOR UPDATE / FOR NO KEY UPDATE: a lock
      }
      if (k.isWord("update") && i > 0 && t.get(i - 1).isWord("key")) {
        continue;
      }
      if (k.isWord("update") && i > 0 && t.get(i - 1).isWord("do")) {
        continue; // ON CONFLICT DO UPDATE: the INSERT's own table
      }
      if (k.isWord("update") && i > 0 && t.get(i - 1).isWord("then")) {
        continue; // MERGE ... WHEN MATCHED THEN UPDATE: the MERGE's own table
      }
      if (k.isWord("delete") && i > 0 && t.get(i - 1).isWord("then")) {
        continue;
      }
      if (k.isWord("truncate")) {
        int j = target;
        while (j < t.size()) {
          j = skipWord(t, j, "only");
          int end = nameEnd(t, j);
          if (end < 0) {
            return EVERYTHING;
          }
          tables.add(t.get(end - 1).text());
          j = end;
          if (j < t.size() && t.get(j).isPunctuation("*")) {
            j++;
          }
          if (j < t.size() && t.get(j).isPunctuation(",")) {
            j++;
            continue;
          }
          break;
        }
        continue;
      }
      int j = skipWord(t, target, "only");
      int end = nameEnd(t, j);
      if (end < 0) {
        return EVERYTHING;
      }
      tables.add(t.get(end - 1).text());
    }
    return tables.isEmpty() ? NONE : new WriteTargets(tables, false);
  }

  /**
   * A call of a function that may write: a user function (outside pg_catalog) that is VOLATILE. A
   * name the catalog does not know is taken for a table's column list ({@code INSERT INTO t (a)}).
   */
  private static boolean writesThroughFunction(
      List<SqlToken> t, int i, FunctionVolatility catalog) {
    SqlName name =
        i >= 2 && t.get(i - 1).isPunctuation(".") && t.get(i - 2).kind() == SqlToken.Kind.IDENTIFIER
            ? new SqlName(t.get(i - 2).text(), t.get(i).text())
            : SqlName.unqualified(t.get(i).text());
    if (name.qualified() && SqlWords.isCatalogSchema(name.schema())) {
      return false;
    }
    return catalog.lookupUser(name).map(v -> v == Volatility.VOLATILE).orElse(false);
  }

  /** {@code COPY ... FROM}, not {@code COPY ... TO}; a query in brackets is skipped. */
  private static boolean copiesIn(List<SqlToken> t) {
    int depth = 0;
    for (SqlToken k : t) {
      if (k.isPunctuation("(")) {
        depth++;
      } else if (k.isPunctuation(")")) {
        depth--;
      } else if (depth == 0 && k.isWord("from")) {
        return true;
      } else if (depth == 0 && k.isWord("to")) {
        return false;
      }
    }
    return false;
  }

  private static boolean hasWord(List<SqlToken> t, String word) {
    for (SqlToken k : t) {
      if (k.isWord(word)) {
        return true;
      }
    }
    return false;
  }

  private static int expect(List<SqlToken> t, int i, String word) {
    return i >= 0 && i < t.size() && t.get(i).isWord(word) ? i + 1 : -1;
  }

  private static int skipWord(List<SqlToken> t, int i, String word) {
    return i >= 0 && i < t.size() && t.get(i).isWord(word) ? i + 1 : i;
  }

  /** The index after a (possibly qualified) name starting at {@code i}, or -1 when none is. */
  private static int nameEnd(List<SqlToken> t, int i) {
    if (i < 0 || i >= t.size() || t.get(i).kind() != SqlToken.Kind.IDENTIFIER) {
      return -1;
    }
    int j = i + 1;
    while (j + 1 < t.size()
        && t.get(j).isPunctuation(".")
        && t.get(j + 1).kind() == SqlToken.Kind.IDENTIFIER) {
      j += 2;
    }
    return j;
  }
}
