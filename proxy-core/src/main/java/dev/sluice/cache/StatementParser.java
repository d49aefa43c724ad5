package dev.sluice.cache;

import dev.sluice.cache.Cacheability.Reason;
import dev.sluice.cache.StatementTokens.Malformed;
import dev.sluice.session.sql.SqlToken;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Reads one statement's tokens as a query: a recursive descent over its clauses and parenthesised
 * groups, deep enough to tell what each word is, not a full grammar.
 *
 * <ul>
 *   <li>Brackets are matched first; an unbalanced one is a parse error.
 *   <li>A group is a subquery when it starts with {@code SELECT}, {@code VALUES}, {@code TABLE} or
 *       {@code WITH}, a data-modifying statement when it starts with {@code INSERT}, {@code
 *       UPDATE}, {@code DELETE} or {@code MERGE}, and an expression otherwise. In FROM-item
 *       position a group that is not a subquery is a joined table.
 *   <li>{@code FROM}, {@code INTO}, {@code FOR} and {@code TABLESAMPLE} are clauses only at the
 *       level of a query, so {@code extract(year FROM d)} and {@code substring(s FROM 1 FOR 2)} are
 *       not; {@code IS [NOT] DISTINCT FROM} is not either.
 *   <li>In a FROM list, a name in item position is a relation unless a {@code (} follows (a table
 *       function) or a CTE in scope has that name; after an item come its alias, column list,
 *       {@code TABLESAMPLE}, joins and {@code ON} conditions.
 *   <li>A name followed by {@code (} is a function call unless it is a keyword that opens a group
 *       ({@code IN (}, {@code EXISTS (}, {@code OVER (}...); {@code CAST(x AS type)} and {@code
 *       x::type} check the type; a name followed by a string is a typed literal ({@code DATE
 *       'now'}) unless the name is a keyword ({@code LIKE 'a%'}).
 *   <li>A word after {@code AS} or after {@code .} is a label or a field, never a keyword.
 * </ul>
 *
 * <p>Operators are taken as immutable built-ins: an operator's function is not looked up, so a
 * user-defined operator over a volatile function goes unnoticed. Whatever the parser cannot place
 * errs towards "not cacheable".
 *
 * <p>The parser only places words: it asks {@link StatementTokens} what stands at an index, and
 * hands each relation, call and cast it places to {@link StatementFindings}, which judges them.
 */
final class StatementParser {
  private static final int ITEM = 0;
  private static final int AFTER_ITEM = 1;
  private static final int JOIN_CONDITION = 2;

  private final List<SqlToken> tokens;
  private final StatementFindings found;
  private StatementTokens t;
  private boolean topLevelWrite;

  StatementParser(List<SqlToken> tokens, FunctionVolatility catalog) {
    this.tokens = tokens;
    this.found = new StatementFindings(catalog);
  }

  Cacheability parse(Optional<Duration> ttl) {
    try {
      t = new StatementTokens(tokens);
      if (!t.startsQuery(0, t.size())) {
        return Cacheability.refused(Reason.NOT_A_QUERY, ttl);
      }
      query(0, t.size(), Set.of(), true);
    } catch (Malformed e) {
      return Cacheability.refused(Reason.PARSE_ERROR, ttl);
    }
    if (topLevelWrite) {
      return Cacheability.refused(Reason.NOT_A_QUERY, ttl);
    }
    return found.cacheability(ttl);
  }

  // ---- queries

  /** A query or data-modifying statement filling {@code [from, to)}. */
  private void query(int from, int to, Set<String> scope, boolean top) {
    int k = from;
    if (t.word(k, "with")) {
      With with = with(k + 1, to, scope);
      k = with.next();
      scope = with.scope();
      if (!t.startsQuery(k, to) && !t.isWrite(k)) {
        throw new Malformed();
      }
    }
    if (t.isWrite(k)) {
      if (top) {
        topLevelWrite = true;
      } else {
        found.note(Reason.DATA_MODIFYING_CTE);
      }
      return;
    }
    while (k < to) {
      k = queryStep(k, to, scope);
    }
  }

  private int queryStep(int k, int to, Set<String> scope) {
    if (t.word(k, "from") && !t.isDistinctFrom(k)) {
      return fromList(k + 1, to, scope);
    }
    if (t.word(k, "into")) {
      found.note(Reason.SELECT_INTO);
    } else if (t.word(k, "for")) {
      found.note(Reason.LOCKING_CLAUSE);
    } else if (t.word(k, "tablesample")) {
      found.note(Reason.TABLESAMPLE);
    } else if (t.word(k, "table")) {
      return relationAfterTable(k + 1, to, scope);
    }
    return expressionStep(k, to, scope, false);
  }

  private record With(int next, Set<String> scope) {}

  /** The CTE list after {@code WITH}; later CTEs and the main query see the earlier names. */
  private With with(int k, int to, Set<String> outer) {
    boolean recursive = t.word(k, "recursive");
    k += recursive ? 1 : 0;
    Set<String> names = new HashSet<>(outer);
    while (true) {
      if (k >= to || !t.identifier(k)) {
        throw new Malformed();
      }
      String name = t.get(k++).text();
      k = t.isOpen(k) ? t.close(k) + 1 : k;
      if (!t.word(k++, "as")) {
        throw new Malformed();
      }
      k += t.word(k, "not") ? 1 : 0;
      k += t.word(k, "materialized") ? 1 : 0;
      if (!t.isOpen(k)) {
        throw new Malformed();
      }
      if (recursive) {
        names.add(name);
      }
      k = group(k, Set.copyOf(names));
      names.add(name);
      k = skipSearchAndCycle(k, to);
      if (k < to && t.get(k).isPunctuation(",")) {
        k++;
      } else {
        return new With(k, Set.copyOf(names));
      }
    }
  }

  /** {@code SEARCH ... SET col} and {@code CYCLE ... USING col} after a recursive CTE. */
  private int skipSearchAndCycle(int k, int to) {
    if (t.word(k, "search")) {
      while (k < to && !t.word(k, "set")) {
        k++;
      }
      k += 2;
    }
    if (t.word(k, "cycle")) {
      while (k < to && !t.word(k, "using")) {
        k++;
      }
      k += 2;
    }
    return Math.min(k, to);
  }

  private int relationAfterTable(int k, int to, Set<String> scope) {
    k += t.word(k, "only") ? 1 : 0;
    if (k >= to || !t.identifier(k)) {
      throw new Malformed();
    }
    int end = t.nameEnd(k, to);
    found.relation(t.name(k, end), scope);
    return end < to && t.get(end).isPunctuation("*") ? end + 1 : end;
  }

  // ---- FROM lists

  /** The FROM list starting at {@code k}; returns the index of the word that ends it. */
  private int fromList(int k, int to, Set<String> scope) {
    int state = ITEM;
    while (k < to) {
      if (t.bareWordIn(k, SqlWords.FROM_ENDS)) {
        return k;
      }
      if (t.get(k).isPunctuation(",")) {
        state = ITEM;
        k++;
      } else if (t.bareWordIn(k, SqlWords.JOINS) && !t.isOpen(k + 1)) {
        state = t.word(k, "join") ? ITEM : AFTER_ITEM;
        k++;
      } else if (state == ITEM) {
        k = fromItem(k, to, scope);
        state = AFTER_ITEM;
      } else if (state == AFTER_ITEM && t.word(k, "on")) {
        state = JOIN_CONDITION;
        k++;
      } else if (state == AFTER_ITEM) {
        k = afterItem(k, to, scope);
      } else {
        k = expressionStep(k, to, scope, false);
      }
    }
    return k;
  }

  private int fromItem(int k, int to, Set<String> scope) {
    while (t.word(k, "lateral") || t.word(k, "only")) {
      k++;
    }
    if (t.word(k, "rows") && t.word(k + 1, "from")) {
      k += 2;
    }
    if (k >= to) {
      throw new Malformed();
    }
    if (t.isOpen(k)) {
      int close = t.close(k);
      if (t.startsQuery(k + 1, close) || t.isWrite(k + 1)) {
        query(k + 1, close, scope, false);
      } else {
        exprRange(fromList(k + 1, close, scope), close, scope, false);
      }
      return close + 1;
    }
    if (!t.identifier(k)) {
      return expressionStep(k, to, scope, false);
    }
    int end = t.nameEnd(k, to);
    if (t.isOpen(end) || (end == k + 1 && t.bareWordIn(k, SqlWords.VALUE_FUNCTIONS))) {
      return nameOrCall(k, to, scope);
    }
    found.relation(t.name(k, end), scope);
    return end < to && t.get(end).isPunctuation("*") ? end + 1 : end;
  }

  /** Alias, column list, TABLESAMPLE, WITH ORDINALITY or USING after a FROM item. */
  private int afterItem(int k, int to, Set<String> scope) {
    if (t.word(k, "tablesample")) {
      found.note(Reason.TABLESAMPLE);
      return k + 1;
    }
    if (t.word(k, "with") && t.word(k + 1, "ordinality")) {
      return k + 2;
    }
    if (t.word(k, "using") || t.word(k, "repeatable")) {
      return t.isOpen(k + 1) ? t.close(k + 1) + 1 : k + 1;
    }
    if (t.word(k, "as")) {
      k++;
    }
    if (k < to && t.identifier(k)) {
      // An alias, perhaps with column names or a column definition list: names, not calls.
      return t.isOpen(k + 1) ? t.close(k + 1) + 1 : k + 1;
    }
    return expressionStep(k, to, scope, false);
  }

  // ---- expressions

  private void exprRange(int from, int to, Set<String> scope, boolean inCast) {
    int k = from;
    while (k < to) {
      k = expressionStep(k, to, scope, inCast);
    }
  }

  /** One step through an expression; returns the index after what it consumed. */
  private int expressionStep(int k, int to, Set<String> scope, boolean inCast) {
    SqlToken tok = t.get(k);
    if (t.isOpen(k) || tok.isPunctuation("[")) {
      return group(k, scope);
    }
    if (tok.isPunctuation("::")) {
      return typeName(k + 1, to);
    }
    if (t.word(k, "as")) {
      if (inCast) {
        return typeName(k + 1, to);
      }
      return k + 1 < to && t.identifier(k + 1) ? k + 2 : k + 1;
    }
    if (t.identifier(k)) {
      return nameOrCall(k, to, scope);
    }
    return k + 1;
  }

  /** A parenthesised or bracketed group; returns the index after it. */
  private int group(int k, Set<String> scope) {
    int close = t.close(k);
    if (t.isOpen(k) && (t.startsQuery(k + 1, close) || t.isWrite(k + 1))) {
      query(k + 1, close, scope, false);
    } else {
      exprRange(k + 1, close, scope, false);
    }
    return close + 1;
  }

  /**
   * A name in an expression: a column, a function call, a keyword, a SQL value function or the type
   * of a typed literal. Returns the index after the name; a call's arguments are left for the
   * caller to read as a group.
   */
  private int nameOrCall(int k, int to, Set<String> scope) {
    int end = t.nameEnd(k, to);
    if (k > 0 && t.get(k - 1).isPunctuation(".")) {
      return end; // a field of a composite value: (row).name
    }
    boolean bare = end == k + 1 && !t.get(k).quoted();
    String word = t.get(k).text();
    if (bare && SqlWords.VALUE_FUNCTIONS.contains(word)) {
      found.note(Reason.SQL_VALUE_FUNCTION);
      return end;
    }
    if (t.isOpen(end)) {
      if (bare && word.equals("cast")) {
        exprRange(end + 1, t.close(end), scope, true);
        return t.close(end) + 1;
      }
      if (bare && SqlWords.DATETIME_PRECISION_TYPES.contains(word)) {
        found.note(Reason.UNSAFE_CAST); // TIMESTAMP(3) '...'
      } else if (!(bare && SqlWords.NOT_CALLS.contains(word))) {
        found.call(t.name(k, end), bare);
      }
      return end;
    }
    if (end < to && t.get(end).kind() == SqlToken.Kind.STRING) {
      typedLiteral(k, end, bare, word);
    }
    return end;
  }

  private void typedLiteral(int k, int end, boolean bare, String word) {
    if (bare && SqlWords.BEFORE_STRINGS.contains(word)) {
      return;
    }
    if (bare && word.equals("zone")) {
      if (!(t.word(k - 1, "time") && t.word(k - 2, "at"))) {
        found.note(Reason.UNSAFE_CAST); // TIMESTAMP WITH TIME ZONE '...'
      }
      return;
    }
    found.castTo(t.name(k, end));
  }

  /** The type after {@code ::} or {@code CAST(x AS}; returns the index after it. */
  private int typeName(int k, int to) {
    if (k >= to || !t.identifier(k)) {
      throw new Malformed();
    }
    int end = t.nameEnd(k, to);
    SqlName type = t.name(k, end);
    boolean multiword = end == k + 1 && t.bareWordIn(k, SqlWords.MULTIWORD_TYPES);
    while (end < to) {
      if (multiword && t.bareWordIn(end, SqlWords.TYPE_CONTINUATIONS)) {
        end++;
      } else if (t.isOpen(end) && t.identifier(end - 1)) {
        end = t.close(end) + 1; // type modifiers: numeric(10, 2), varchar(20)
      } else if (t.get(end).isPunctuation("[")) {
        end = t.close(end) + 1;
      } else if (t.word(end, "array")) {
        end++;
      } else {
        break;
      }
    }
    found.castTo(type);
    return end;
  }
}
