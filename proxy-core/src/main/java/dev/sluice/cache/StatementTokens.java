package dev.sluice.cache;

import dev.sluice.session.sql.SqlToken;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;
import java.util.Set;

/**
 * One statement's tokens as {@link StatementParser} reads them: by index, with each opening bracket
 * matched to its closing one, and the few questions the parser asks of a position (is it this word,
 * an identifier, an opening bracket, the start of a query). Indexes outside the statement answer
 * false, so the parser may look one or two tokens back or ahead without checking bounds.
 */
final class StatementTokens {
  private final List<SqlToken> t;
  private final int[] match;

  /**
   * @throws Malformed if a bracket is unbalanced or a stray {@code $} stands alone
   */
  StatementTokens(List<SqlToken> tokens) {
    this.t = tokens;
    this.match = new int[tokens.size()];
    matchBrackets();
  }

  int size() {
    return t.size();
  }

  SqlToken get(int k) {
    return t.get(k);
  }

  /** The index of the bracket that closes the one at {@code k}. */
  int close(int k) {
    return match[k];
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

  boolean startsQuery(int k, int to) {
    if (k >= to) {
      return false;
    }
    if (isOpen(k)) {
      return startsQuery(k + 1, match[k]);
    }
    return bareWordIn(k, SqlWords.QUERY_STARTS);
  }

  boolean isWrite(int k) {
    return bareWordIn(k, SqlWords.WRITES);
  }

  /** {@code FROM} after {@code IS [NOT] DISTINCT}: a comparison, not a clause. */
  boolean isDistinctFrom(int k) {
    return word(k - 1, "distinct") && (word(k - 2, "is") || word(k - 2, "not"));
  }

  /**
   * The index after the dotted name starting at {@code k}: {@code a}, {@code a.b}, {@code a.b.c}.
   */
  int nameEnd(int k, int to) {
    int end = k + 1;
    while (end + 1 < to && t.get(end).isPunctuation(".") && identifier(end + 1)) {
      end += 2;
    }
    return end;
  }

  /** The dotted name in {@code [k, end)}: its last part and the part before, if any. */
  SqlName name(int k, int end) {
    String last = t.get(end - 1).text();
    return end - k >= 3 ? new SqlName(t.get(end - 3).text(), last) : SqlName.unqualified(last);
  }

  boolean identifier(int k) {
    return k >= 0 && k < t.size() && t.get(k).kind() == SqlToken.Kind.IDENTIFIER;
  }

  boolean word(int k, String w) {
    return k >= 0 && k < t.size() && t.get(k).isWord(w);
  }

  boolean bareWordIn(int k, Set<String> words) {
    return identifier(k) && !t.get(k).quoted() && words.contains(t.get(k).text());
  }

  boolean isOpen(int k) {
    return k >= 0 && k < t.size() && t.get(k).isPunctuation("(");
  }

  /** Thrown where the statement cannot be PostgreSQL; caught in {@link StatementParser#parse}. */
  static final class Malformed extends RuntimeException {
    private static final long serialVersionUID = 1L;

    Malformed() {
      super(null, null, false, false);
    }
  }
}
