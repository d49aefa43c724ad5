package dev.sluice.cache;

import dev.sluice.cache.Cacheability.Reason;
import dev.sluice.session.sql.SqlToken;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashSet;
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
 */
final class StatementParser {
  private static final int ITEM = 0;
  private static final int AFTER_ITEM = 1;
  private static final int JOIN_CONDITION = 2;

  private final List<SqlToken> t;
  private final FunctionVolatility catalog;
  private final int[] match;
  private final Set<SqlName> relations = new LinkedHashSet<>();
  private final Set<SqlName> functions = new LinkedHashSet<>();
  private Reason reason;
  private boolean topLevelWrite;

  StatementParser(List<SqlToken> tokens, FunctionVolatility catalog) {
    this.t = tokens;
    this.catalog = catalog;
    this.match = new int[tokens.size()];
  }

  Cacheability parse(Optional<Duration> ttl) {
    try {
      matchBrackets();
      if (!startsQuery(0, t.size())) {
        return Cacheability.refused(Reason.NOT_A_QUERY, ttl);
      }
      query(0, t.size(), Set.of(), true);
    } catch (Malformed e) {
      return Cacheability.refused(Reason.PARSE_ERROR, ttl);
    }
    if (topLevelWrite) {
      return Cacheability.refused(Reason.NOT_A_QUERY, ttl);
    }
    return new Cacheability(reason == null ? Reason.CACHEABLE : reason, relations, functions, ttl);
  }

  /** Fills {@link #match} with the closing bracket of each opening one. */
  private void matchBrackets() {
    Arrays.fill(match, -1);
    Deque<Integer> open = new ArrayDeque<>();
    for (int k = 0; k < t.size(); k++) {
      SqlToken tok = t.get(k);
      if (tok.isPunctuation("(") || tok.isPunctuation("[")) {
        open.push(k);
      } else if (tok.isPunctuation(")") || tok.isPunctuation("]")) {
        if (open.isEmpty()
            || !t.get(open.peek()).isPunctuation(tok.isPunctuation(")") ? "(" : "[")) {
          throw new Malformed();
        }
        match[open.pop()] = k;
      } else if (tok.isPunctuation("$")) {
        throw new Malformed();
      }
    }
    if (!open.isEmpty()) {
      throw new Malformed();
    }
  }

  // ---- queries

  /** A query or data-modifying statement filling {@code [from, to)}. */
  private void query(int from, int to, Set<String> scope, boolean top) {
    int k = from;
    if (word(k, "with")) {
      With with = with(k + 1, to, scope);
      k = with.next();
      scope = with.scope();
      if (!startsQuery(k, to) && !isWrite(k)) {
        throw new Malformed();
      }
    }
    if (isWrite(k)) {
      if (top) {
        topLevelWrite = true;
      } else {
        note(Reason.DATA_MODIFYING_CTE);
      }
      return;
    }
    while (k < to) {
      k = queryStep(k, to, scope);
    }
  }

  private int queryStep(int k, int to, Set<String> scope) {
    if (word(k, "from") && !isDistinctFrom(k)) {
      return fromList(k + 1, to, scope);
    }
    if (word(k, "into")) {
      note(Reason.SELECT_INTO);
    } else if (word(k, "for")) {
      note(Reason.LOCKING_CLAUSE);
    } else if (word(k, "tablesample")) {
      note(Reason.TABLESAMPLE);
    } else if (word(k, "table")) {
      return relationAfterTable(k + 1, to, scope);
    }
    return expressionStep(k, to, scope, false);
  }

  private record With(int next, Set<String> scope) {}

  /** The CTE list after {@code WITH}; later CTEs and the main query see the earlier names. */
  private With with(int k, int to, Set<String> outer) {
    boolean recursive = word(k, "recursive");
    k += recursive ? 1 : 0;
    Set<String> names = new HashSet<>(outer);
    while (true) {
      if (k >= to || !identifier(k)) {
        throw new Malformed();
      }
      String name = t.get(k++).text();
      k = isOpen(k) ? match[k] + 1 : k;
      if (!word(k++, "as")) {
        throw new Malformed();
      }
      k += word(k, "not") ? 1 : 0;
      k += word(k, "materialized") ? 1 : 0;
      if (!isOpen(k)) {
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
    if (word(k, "search")) {
      while (k < to && !word(k, "set")) {
        k++;
      }
      k += 2;
    }
    if (word(k, "cycle")) {
      while (k < to && !word(k, "using")) {
        k++;
      }
      k += 2;
    }
    return Math.min(k, to);
  }

  private int relationAfterTable(int k, int to, Set<String> scope) {
    k += word(k, "only") ? 1 : 0;
    if (k >= to || !identifier(k)) {
      throw new Malformed();
    }
    int end = nameEnd(k, to);
    relation(name(k, end), scope);
    return end < to && t.get(end).isPunctuation("*") ? end + 1 : end;
  }

  // ---- FROM lists

  /** The FROM list starting at {@code k}; returns the index of the word that ends it. */
  private int fromList(int k, int to, Set<String> scope) {
    int state = ITEM;
    while (k < to) {
      if (bareWordIn(k, SqlWords.FROM_ENDS)) {
        return k;
      }
      if (t.get(k).isPunctuation(",")) {
        state = ITEM;
        k++;
      } else if (bareWordIn(k, SqlWords.JOINS) && !isOpen(k + 1)) {
        state = word(k, "join") ? ITEM : AFTER_ITEM;
        k++;
      } else if (state == ITEM) {
        k = fromItem(k, to, scope);
        state = AFTER_ITEM;
      } else if (state == AFTER_ITEM && word(k, "on")) {
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
    while (word(k, "lateral") || word(k, "only")) {
      k++;
    }
    if (word(k, "rows") && word(k + 1, "from")) {
      k += 2;
    }
    if (k >= to) {
      throw new Malformed();
    }
    if (isOpen(k)) {
      int close = match[k];
      if (startsQuery(k + 1, close) || isWrite(k + 1)) {
        query(k + 1, close, scope, false);
      } else {
        exprRange(fromList(k + 1, close, scope), close, scope, false);
      }
      return close + 1;
    }
    if (!identifier(k)) {
      return expressionStep(k, to, scope, false);
    }
    int end = nameEnd(k, to);
    if (isOpen(end) || (end == k + 1 && bareWordIn(k, SqlWords.VALUE_FUNCTIONS))) {
      return nameOrCall(k, to, scope);
    }
    relation(name(k, end), scope);
    return end < to && t.get(end).isPunctuation("*") ? end + 1 : end;
  }

  /** Alias, column list, TABLESAMPLE, WITH ORDINALITY or USING after a FROM item. */
  private int afterItem(int k, int to, Set<String> scope) {
    if (word(k, "tablesample")) {
      note(Reason.TABLESAMPLE);
      return k + 1;
    }
    if (word(k, "with") && word(k + 1, "ordinality")) {
      return k + 2;
    }
    if (word(k, "using") || word(k, "repeatable")) {
      return isOpen(k + 1) ? match[k + 1] + 1 : k + 1;
    }
    if (word(k, "as")) {
      k++;
    }
    if (k < to && identifier(k)) {
      // An alias, perhaps with column names or a column definition list: names, not calls.
      return isOpen(k + 1) ? match[k + 1] + 1 : k + 1;
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
    if (isOpen(k) || tok.isPunctuation("[")) {
      return group(k, scope);
    }
    if (tok.isPunctuation("::")) {
      return typeName(k + 1, to);
    }
    if (word(k, "as")) {
      if (inCast) {
        return typeName(k + 1, to);
      }
      return k + 1 < to && identifier(k + 1) ? k + 2 : k + 1;
    }
    if (identifier(k)) {
      return nameOrCall(k, to, scope);
    }
    return k + 1;
  }

  /** A parenthesised or bracketed group; returns the index after it. */
  private int group(int k, Set<String> scope) {
    int close = match[k];
    if (isOpen(k) && (startsQuery(k + 1, close) || isWrite(k + 1))) {
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
    int end = nameEnd(k, to);
    if (k > 0 && t.get(k - 1).isPunctuation(".")) {
      return end; // a field of a composite value: (row).name
    }
    boolean bare = end == k + 1 && !t.get(k).quoted();
    String word = t.get(k).text();
    if (bare && SqlWords.VALUE_FUNCTIONS.contains(word)) {
      note(Reason.SQL_VALUE_FUNCTION);
      return end;
    }
    if (isOpen(end)) {
      if (bare && word.equals("cast")) {
        exprRange(end + 1, match[end], scope, true);
        return match[end] + 1;
      }
      if (bare && SqlWords.DATETIME_PRECISION_TYPES.contains(word)) {
        note(Reason.UNSAFE_CAST); // TIMESTAMP(3) '...'
      } else if (!(bare && SqlWords.NOT_CALLS.contains(word))) {
        call(name(k, end), bare);
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
      if (!(word(k - 1, "time") && word(k - 2, "at"))) {
        note(Reason.UNSAFE_CAST); // TIMESTAMP WITH TIME ZONE '...'
      }
      return;
    }
    castTo(name(k, end));
  }

  /** The type after {@code ::} or {@code CAST(x AS}; returns the index after it. */
  private int typeName(int k, int to) {
    if (k >= to || !identifier(k)) {
      throw new Malformed();
    }
    int end = nameEnd(k, to);
    SqlName type = name(k, end);
    boolean multiword = end == k + 1 && bareWordIn(k, SqlWords.MULTIWORD_TYPES);
    while (end < to) {
      if (multiword && bareWordIn(end, SqlWords.TYPE_CONTINUATIONS)) {
        end++;
      } else if (isOpen(end) && identifier(end - 1)) {
        end = match[end] + 1; // type modifiers: numeric(10, 2), varchar(20)
      } else if (t.get(end).isPunctuation("[")) {
        end = match[end] + 1;
      } else if (word(end, "array")) {
        end++;
      } else {
        break;
      }
    }
    castTo(type);
    return end;
  }

  private void castTo(SqlName type) {
    boolean builtin = !type.qualified() || type.schema().equals("pg_catalog");
    if (!builtin || !SqlWords.SAFE_CAST_TYPES.containsKey(type.name())) {
      note(Reason.UNSAFE_CAST);
    }
  }

  private void call(SqlName function, boolean bare) {
    functions.add(function);
    boolean builtin = !function.qualified() || function.schema().equals("pg_catalog");
    if (builtin && SqlWords.SEQUENCE_FUNCTIONS.contains(function.name())) {
      note(Reason.SEQUENCE);
    }
    // TRIM(... FROM s) is SQL syntax for btrim, ltrim or rtrim, all alike in volatility.
    SqlName lookup =
        bare && function.name().equals("trim") ? SqlName.unqualified("btrim") : function;
    Optional<Volatility> volatility = catalog.lookup(lookup);
    if (volatility.isEmpty()) {
      note(Reason.UNKNOWN_FUNCTION);
    } else if (volatility.get() == Volatility.VOLATILE) {
      note(Reason.VOLATILE_FUNCTION);
    } else if (volatility.get() == Volatility.STABLE) {
      note(Reason.STABLE_FUNCTION);
    }
  }

  private void relation(SqlName name, Set<String> scope) {
    if (!name.qualified() && scope.contains(name.name())) {
      return; // a CTE
    }
    relations.add(name);
    if (name.qualified() && SqlWords.isTempSchema(name.schema())) {
      note(Reason.TEMP_TABLE);
    } else if (name.qualified()
        ? SqlWords.isCatalogSchema(name.schema())
        : name.name().startsWith("pg_")) {
      note(Reason.SYSTEM_CATALOG);
    }
  }

  private void note(Reason found) {
    if (reason == null) {
      reason = found;
    }
  }

  // ---- tokens

  private boolean startsQuery(int k, int to) {
    if (k >= to) {
      return false;
    }
    if (isOpen(k)) {
      return startsQuery(k + 1, match[k]);
    }
    return bareWordIn(k, SqlWords.QUERY_STARTS);
  }

  private boolean isWrite(int k) {
    return bareWordIn(k, SqlWords.WRITES);
  }

  /** {@code FROM} after {@code IS [NOT] DISTINCT}: a comparison, not a clause. */
  private boolean isDistinctFrom(int k) {
    return word(k - 1, "distinct") && (word(k - 2, "is") || word(k - 2, "not"));
  }

  /**
   * The index after the dotted name starting at {@code k}: {@code a}, {@code a.b}, {@code a.b.c}.
   */
  private int nameEnd(int k, int to) {
    int end = k + 1;
    while (end + 1 < to && t.get(end).isPunctuation(".") && identifier(end + 1)) {
      end += 2;
    }
    return end;
  }

  /** The dotted name in {@code [k, end)}: its last part and the part before, if any. */
  private SqlName name(int k, int end) {
    String last = t.get(end - 1).text();
    return end - k >= 3 ? new SqlName(t.get(end - 3).text(), last) : SqlName.unqualified(last);
  }

  private boolean identifier(int k) {
    return k >= 0 && k < t.size() && t.get(k).kind() == SqlToken.Kind.IDENTIFIER;
  }

  private boolean word(int k, String w) {
    return k >= 0 && k < t.size() && t.get(k).isWord(w);
  }

  private boolean bareWordIn(int k, Set<String> words) {
    return identifier(k) && !t.get(k).quoted() && words.contains(t.get(k).text());
  }

  private boolean isOpen(int k) {
    return k >= 0 && k < t.size() && t.get(k).isPunctuation("(");
  }

  /** Thrown where the statement cannot be PostgreSQL; caught in {@link #parse}. */
  private static final class Malformed extends RuntimeException {
    private static final long serialVersionUID = 1L;

    Malformed() {
      super(null, null, false, false);
    }
  }
}
