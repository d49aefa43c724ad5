package dev.sluice.session.sql;

import java.util.ArrayList;
import java.util.List;

/**
 * A forward-only cursor over the tokens of PostgreSQL SQL text, following chapter 4.1 of the
 * PostgreSQL documentation closely enough that text inside literals and comments is never taken for
 * tokens:
 *
 * <ul>
 *   <li>{@code --} line comments and block comments, which nest, are skipped;
 *   <li>{@code '...'} strings with {@code ''}, joined across line breaks ({@code 'a'\n'b'}); {@code
 *       E'...'} with backslash escapes (plain strings too when standard_conforming_strings is off);
 *       {@code U&'...'} with an optional {@code UESCAPE 'c'}; {@code B'...'}, {@code X'...'},
 *       {@code N'...'}; {@code $$...$$} and {@code $tag$...$tag$};
 *   <li>{@code "..."} and {@code U&"..."} identifiers with {@code ""};
 *   <li>{@code $1} parameters; a {@code $} inside a word belongs to the word ({@code a$$b} is one
 *       identifier), so a dollar quote never starts there;
 *   <li>operators and punctuation, with {@code ::}, {@code :=} and {@code ..} as single tokens.
 * </ul>
 *
 * <p>Nothing here throws on malformed input: an unterminated literal or comment runs to the end of
 * the text, and {@link #unterminated()} says so. Scanning is one left-to-right pass with bounded
 * look-ahead (a string's continuation, a {@code UESCAPE} clause), so the cost is linear in the
 * length of the text. Token values are decoded only when {@link #text()} or {@link #token()} asks
 * for them.
 *
 * <p>The cursor also finds statement boundaries: a {@code ;} ends a statement unless it is inside
 * parentheses (as in a multi-action {@code CREATE RULE}) or inside the {@code BEGIN ATOMIC ... END}
 * body of {@code CREATE [OR REPLACE] FUNCTION|PROCEDURE}, where {@code CASE ... END} pairs are
 * counted so that the right {@code END} closes the body. Text that PostgreSQL would reject (an
 * unbalanced parenthesis) never runs, because a simple Query is parsed whole before any statement
 * executes.
 *
 * <p>It stays one class past the project's usual size on purpose: every scanning method advances
 * the one position and fills the one current token (kind, span, body, literal form), and the
 * statement-boundary tracking reads each token as it is made. Split apart, that mutable cursor
 * state would have to be shared between classes, on a path the text of each statement takes.
 */
public final class SqlLexer {
  private static final int HEADER_UNKNOWN = 0;
  private static final int HEADER_CREATE = 1;
  private static final int HEADER_OR = 2;
  private static final int HEADER_REPLACE = 3;
  private static final int HEADER_ROUTINE = 4;
  private static final int HEADER_OTHER = 5;

  private final String sql;
  private final boolean standardConformingStrings;
  private int pos;

  private SqlToken.Kind kind;
  private int start;
  private int end;
  private boolean quoted;
  private LiteralForm form = LiteralForm.OTHER;
  private int bodyStart;
  private int bodyEnd;
  private char unicodeEscape = '\\';

  private int indexInStatement = -1;
  private int parenDepth;
  private int atomicDepth;
  private int header = HEADER_UNKNOWN;
  private boolean afterBegin;
  private boolean endsStatement;
  private boolean unterminated;

  /** A lexer for text sent with standard_conforming_strings on, PostgreSQL's default. */
  public SqlLexer(String sql) {
    this(sql, true);
  }

  /**
   * @param standardConformingStrings the session's setting: when off, backslashes escape in plain
   *     {@code '...'} strings too
   */
  public SqlLexer(String sql, boolean standardConformingStrings) {
    this.sql = sql;
    this.standardConformingStrings = standardConformingStrings;
  }

  /** All tokens of {@code sql}. */
  public static List<SqlToken> tokenize(String sql) {
    List<SqlToken> tokens = new ArrayList<>();
    SqlLexer lexer = new SqlLexer(sql);
    while (lexer.next()) {
      tokens.add(lexer.token());
    }
    return tokens;
  }

  /** The statements of {@code sql}: their tokens without the separating {@code ;}, none empty. */
  public static List<List<SqlToken>> statements(String sql) {
    return statements(sql, true);
  }

  public static List<List<SqlToken>> statements(String sql, boolean standardConformingStrings) {
    List<List<SqlToken>> statements = new ArrayList<>();
    statementsInto(sql, standardConformingStrings, statements);
    return statements;
  }

  /**
   * Adds the tokens of each statement of {@code sql} to {@code statements}; false when the text
   * ends inside a literal, quoted identifier or comment ({@link #unterminated()}).
   */
  public static boolean statementsInto(
      String sql, boolean standardConformingStrings, List<List<SqlToken>> statements) {
    List<SqlToken> current = new ArrayList<>();
    SqlLexer lexer = new SqlLexer(sql, standardConformingStrings);
    while (lexer.next()) {
      if (!lexer.endsStatement()) {
        current.add(lexer.token());
      } else if (!current.isEmpty()) {
        statements.add(current);
        current = new ArrayList<>();
      }
    }
    if (!current.isEmpty()) {
      statements.add(current);
    }
    return !lexer.unterminated();
  }

  /**
   * The bodies of the comments before the first token, in order: the text between {@code /*} and
   * its closing delimiter (nested comments included), or after {@code --} up to the line break.
   * Nothing of a comment that never closes.
   */
  public static List<String> leadingComments(String sql) {
    List<String> comments = new ArrayList<>();
    int i = 0;
    int len = sql.length();
    while (i < len) {
      char c = sql.charAt(i);
      if (SqlSyntax.isSpace(c)) {
        i++;
      } else if (SqlSyntax.startsWith(sql, i, '-', '-')) {
        int end = SqlSyntax.lineEnd(sql, i + 2);
        comments.add(sql.substring(i + 2, end));
        i = end;
      } else if (SqlSyntax.startsWith(sql, i, '/', '*')) {
        int end = SqlSyntax.blockCommentSpan(sql, i);
        if (end < 0) {
          break;
        }
        comments.add(sql.substring(i + 2, end - 2));
        i = end;
      } else {
        break;
      }
    }
    return comments;
  }

  /** Moves to the next token; false at the end of the text. */
  public boolean next() {
    if (endsStatement) {
      startStatement();
    }
    pos = span(SqlSyntax.skipSpaceAndCommentsSpan(sql, pos));
    if (pos >= sql.length()) {
      kind = null;
      return false;
    }
    start = pos;
    quoted = false;
    form = LiteralForm.OTHER;
    unicodeEscape = '\\';
    char c = sql.charAt(pos);
    if (c == '\'') {
      string(pos, standardConformingStrings ? LiteralForm.STANDARD : LiteralForm.ESCAPE);
    } else if (c == '"') {
      quotedIdentifier(pos, LiteralForm.QUOTED_IDENTIFIER);
    } else if (SqlSyntax.isIdentifierStart(c)) {
      word(c);
    } else if (c == '$') {
      dollar();
    } else if (SqlSyntax.isDigit(c) || (c == '.' && SqlSyntax.isDigit(at(pos + 1)))) {
      kind = SqlToken.Kind.NUMBER;
      end = SqlSyntax.numberEnd(sql, pos);
    } else {
      punctuation(c);
    }
    pos = end;
    trackStatement();
    return true;
  }

  public SqlToken.Kind kind() {
    return kind;
  }

  public int start() {
    return start;
  }

  public int end() {
    return end;
  }

  /**
   * Whether the text ended inside a literal, a quoted identifier or a block comment, at or before
   * the current token. PostgreSQL rejects such text; once true, it stays true.
   */
  public boolean unterminated() {
    return unterminated;
  }

  /** Whether the current identifier was double-quoted. */
  public boolean quoted() {
    return quoted;
  }

  /** Whether the current token is the unquoted word {@code lowerCaseWord}; allocates nothing. */
  public boolean isWord(String lowerCaseWord) {
    return kind == SqlToken.Kind.IDENTIFIER
        && !quoted
        && SqlSyntax.regionIsWord(sql, start, end, lowerCaseWord);
  }

  /** Whether the current token is the one-character punctuation {@code c}. */
  public boolean isPunctuation(char c) {
    return kind == SqlToken.Kind.PUNCTUATION && end - start == 1 && sql.charAt(start) == c;
  }

  /** Whether the current token is the punctuation or operator {@code p}. */
  public boolean isPunctuation(String p) {
    return kind == SqlToken.Kind.PUNCTUATION
        && sql.startsWith(p, start)
        && end - start == p.length();
  }

  /** The current token's value; see {@link SqlToken#text()}. */
  public String text() {
    return switch (kind) {
      case IDENTIFIER -> SqlLiterals.identifier(sql, form, bodyStart, bodyEnd, unicodeEscape);
      case STRING -> SqlLiterals.string(sql, form, bodyStart, bodyEnd, unicodeEscape);
      default -> sql.substring(start, end);
    };
  }

  public SqlToken token() {
    return new SqlToken(kind, text(), quoted, start, end);
  }

  /** Whether the current token is the first of a statement. */
  public boolean startsStatement() {
    return indexInStatement == 0;
  }

  /** Whether the current token is a {@code ;} that ends a statement. */
  public boolean endsStatement() {
    return endsStatement;
  }

  /** The end of a scanned span, noting whether the text ended before its closing delimiter. */
  private int span(int span) {
    if (span < 0) {
      unterminated = true;
    }
    return SqlSyntax.orLength(span);
  }

  private char at(int i) {
    return i < sql.length() ? sql.charAt(i) : '\0';
  }

  private void word(char c) {
    char next = at(pos + 1);
    if (next == '\'') {
      switch (c) {
        case 'e', 'E' -> {
          string(pos + 1, LiteralForm.ESCAPE);
          return;
        }
        case 'b', 'B', 'x', 'X' -> {
          string(pos + 1, LiteralForm.BITS);
          return;
        }
        case 'n', 'N' -> {
          string(pos + 1, standardConformingStrings ? LiteralForm.STANDARD : LiteralForm.ESCAPE);
          return;
        }
        default -> {}
      }
    }
    if ((c == 'u' || c == 'U') && next == '&' && (at(pos + 2) == '\'' || at(pos + 2) == '"')) {
      if (at(pos + 2) == '\'') {
        string(pos + 2, LiteralForm.UNICODE);
      } else {
        quotedIdentifier(pos + 2, LiteralForm.UNICODE_IDENTIFIER);
      }
      unicodeEscapeClause();
      return;
    }
    kind = SqlToken.Kind.IDENTIFIER;
    form = LiteralForm.WORD;
    end = SqlSyntax.identifierEnd(sql, pos);
    bodyStart = start;
    bodyEnd = end;
  }

  private void string(int quote, LiteralForm f) {
    kind = SqlToken.Kind.STRING;
    form = f;
    bodyStart = quote;
    end = span(SqlSyntax.quotedSpan(sql, quote, f == LiteralForm.ESCAPE));
    bodyEnd = end;
  }

  private void quotedIdentifier(int quote, LiteralForm f) {
    kind = SqlToken.Kind.IDENTIFIER;
    quoted = true;
    form = f;
    bodyStart = quote;
    end = span(SqlSyntax.quotedIdentifierSpan(sql, quote));
    bodyEnd = end;
  }

  /** Folds a following {@code UESCAPE 'c'} into the current {@code U&} token. */
  private void unicodeEscapeClause() {
    int w = SqlSyntax.skipSpaceAndComments(sql, end);
    if (w >= sql.length() || !SqlSyntax.isIdentifierStart(sql.charAt(w))) {
      return;
    }
    int wordEnd = SqlSyntax.identifierEnd(sql, w);
    if (!SqlSyntax.regionIsWord(sql, w, wordEnd, "uescape")) {
      return;
    }
    int q = SqlSyntax.skipSpaceAndComments(sql, wordEnd);
    if (at(q) != '\'') {
      return;
    }
    end = span(SqlSyntax.quotedSpan(sql, q, false));
    boolean oneChar = end - q == 3 && sql.charAt(end - 1) == '\'';
    unicodeEscape = oneChar ? sql.charAt(q + 1) : SqlLiterals.NO_ESCAPE;
  }

  /** {@code $1}, a dollar-quoted string, or a lone {@code $}. */
  private void dollar() {
    char next = at(pos + 1);
    if (SqlSyntax.isDigit(next)) {
      kind = SqlToken.Kind.PARAM;
      int j = pos + 1;
      while (SqlSyntax.isDigit(at(j))) {
        j++;
      }
      end = j;
      return;
    }
    if (next == '$' || SqlSyntax.isIdentifierStart(next)) {
      int j = pos + 1;
      while (j < sql.length() && SqlSyntax.isDollarTagPart(sql.charAt(j))) {
        j++;
      }
      if (at(j) == '$') {
        String tag = sql.substring(pos, j + 1);
        int close = sql.indexOf(tag, j + 1);
        unterminated |= close < 0;
        kind = SqlToken.Kind.STRING;
        form = LiteralForm.DOLLAR;
        bodyStart = j + 1;
        bodyEnd = close < 0 ? sql.length() : close;
        end = close < 0 ? sql.length() : close + tag.length();
        return;
      }
    }
    kind = SqlToken.Kind.PUNCTUATION;
    end = pos + 1;
  }

  private void punctuation(char c) {
    kind = SqlToken.Kind.PUNCTUATION;
    char next = at(pos + 1);
    if (SqlSyntax.isOperatorChar(c)) {
      end = SqlSyntax.operatorEnd(sql, pos);
    } else if ((c == ':' && (next == ':' || next == '=')) || (c == '.' && next == '.')) {
      end = pos + 2;
    } else {
      end = pos + 1;
    }
  }

  private void startStatement() {
    indexInStatement = -1;
    parenDepth = 0;
    atomicDepth = 0;
    header = HEADER_UNKNOWN;
    afterBegin = false;
    endsStatement = false;
  }

  private void trackStatement() {
    indexInStatement++;
    boolean word = kind == SqlToken.Kind.IDENTIFIER && !quoted;
    if (header < HEADER_ROUTINE) {
      header = word ? nextHeader() : HEADER_OTHER;
    }
    if (isPunctuation('(')) {
      parenDepth++;
    } else if (isPunctuation(')')) {
      parenDepth = Math.max(0, parenDepth - 1);
    } else if (isPunctuation(';')) {
      endsStatement = parenDepth == 0 && atomicDepth == 0;
    }
    boolean begin = false;
    if (word && header == HEADER_ROUTINE) {
      if (atomicDepth > 0) {
        atomicDepth += isWord("case") ? 1 : isWord("end") ? -1 : 0;
      } else if (afterBegin && isWord("atomic")) {
        atomicDepth = 1;
      } else {
        begin = parenDepth == 0 && isWord("begin");
      }
    }
    afterBegin = begin;
  }

  /** Recognises {@code CREATE [OR REPLACE] FUNCTION|PROCEDURE} in the first four words. */
  private int nextHeader() {
    boolean routine = isWord("function") || isWord("procedure");
    return switch (header) {
      case HEADER_UNKNOWN -> isWord("create") ? HEADER_CREATE : HEADER_OTHER;
      case HEADER_CREATE -> routine ? HEADER_ROUTINE : isWord("or") ? HEADER_OR : HEADER_OTHER;
      case HEADER_OR -> isWord("replace") ? HEADER_REPLACE : HEADER_OTHER;
      case HEADER_REPLACE -> routine ? HEADER_ROUTINE : HEADER_OTHER;
      default -> header;
    };
  }
}
