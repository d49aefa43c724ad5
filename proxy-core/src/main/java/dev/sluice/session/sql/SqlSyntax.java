package dev.sluice.session.sql;

/**
 * Character classes and span scanners of PostgreSQL's SQL lexer, as chapter 4.1 ("Lexical
 * Structure") of the PostgreSQL documentation defines them. Every scanner returns an index and
 * never throws: where input ends inside a literal or comment, the {@code ...Span} scanners return
 * {@link #unterminated}, which {@link #orLength} turns into {@code s.length()}.
 *
 * <p>Characters at or above U+0080 count as identifier characters, as every byte of a multibyte
 * UTF-8 character does for PostgreSQL; only ASCII letters are case-folded.
 */
final class SqlSyntax {
  private SqlSyntax() {}

  static boolean isSpace(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\u000B';
  }

  static boolean isNewline(char c) {
    return c == '\n' || c == '\r';
  }

  static boolean isDigit(char c) {
    return c >= '0' && c <= '9';
  }

  static boolean isIdentifierStart(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
  }

  /** Identifiers may continue with digits and {@code $}; a dollar-quote tag may not contain $. */
  static boolean isIdentifierPart(char c) {
    return isIdentifierStart(c) || isDigit(c) || c == '$';
  }

  static boolean isDollarTagPart(char c) {
    return isIdentifierStart(c) || isDigit(c);
  }

  static boolean isOperatorChar(char c) {
    switch (c) {
      case '~', '!', '@', '#', '^', '&', '|', '`', '?', '+', '-', '*', '/', '%', '<', '>', '=':
        return true;
      default:
        return false;
    }
  }

  /** Whether {@code s[start, end)} is {@code lower} with ASCII letters in either case. */
  static boolean regionIsWord(String s, int start, int end, String lower) {
    int n = lower.length();
    if (end - start != n) {
      return false;
    }
    for (int k = 0; k < n; k++) {
      char c = s.charAt(start + k);
      if (c >= 'A' && c <= 'Z') {
        c = (char) (c + ('a' - 'A'));
      }
      if (c != lower.charAt(k)) {
        return false;
      }
    }
    return true;
  }

  /** The first index at or after {@code i} that is neither whitespace nor inside a comment. */
  static int skipSpaceAndComments(String s, int i) {
    return orLength(skipSpaceAndCommentsSpan(s, i));
  }

  /**
   * Like {@link #skipSpaceAndComments}, but {@link #unterminated} when the text ends inside a block
   * comment.
   */
  static int skipSpaceAndCommentsSpan(String s, int i) {
    int len = s.length();
    while (i < len) {
      char c = s.charAt(i);
      if (isSpace(c)) {
        i++;
      } else if (c == '-' && startsWith(s, i, '-', '-')) {
        i = lineEnd(s, i + 2);
      } else if (c == '/' && startsWith(s, i, '/', '*')) {
        int span = blockCommentSpan(s, i);
        if (span < 0) {
          return span;
        }
        i = span;
      } else {
        break;
      }
    }
    return i;
  }

  /**
   * What the {@code ...Span} scanners return when the text ends before the closing delimiter: the
   * bitwise complement of the text's length, so that it is negative and {@link #orLength} recovers
   * the end.
   */
  static int unterminated(String s) {
    return ~s.length();
  }

  /** The end of a span: {@code span} itself, or the text's length if the span is unterminated. */
  static int orLength(int span) {
    return span < 0 ? ~span : span;
  }

  /** The index of the next line break at or after {@code i}, or the length. */
  static int lineEnd(String s, int i) {
    int len = s.length();
    while (i < len && !isNewline(s.charAt(i))) {
      i++;
    }
    return i;
  }

  /**
   * The end of the block comment opening at {@code i}, or {@link #unterminated} if it never closes;
   * block comments nest.
   */
  static int blockCommentSpan(String s, int i) {
    int len = s.length();
    int depth = 1;
    int j = i + 2;
    while (j < len) {
      if (startsWith(s, j, '/', '*')) {
        depth++;
        j += 2;
      } else if (startsWith(s, j, '*', '/')) {
        j += 2;
        if (--depth == 0) {
          return j;
        }
      } else {
        j++;
      }
    }
    return unterminated(s);
  }

  /**
   * The end of the quoted literal whose opening {@code '} is at {@code q}, including the segments
   * that continue it: {@code 'a'} followed by whitespace containing a line break and then {@code
   * 'b'} is the single literal {@code ab}. {@code ''} is a quote; with {@code backslashEscapes} a
   * backslash also escapes the next character. {@link #unterminated} if the literal never closes.
   */
  static int quotedSpan(String s, int q, boolean backslashEscapes) {
    int len = s.length();
    int i = q + 1;
    while (i < len) {
      char c = s.charAt(i);
      if (c == '\\' && backslashEscapes) {
        i += 2;
      } else if (c != '\'') {
        i++;
      } else if (i + 1 < len && s.charAt(i + 1) == '\'') {
        i += 2;
      } else {
        int next = continuation(s, i + 1);
        if (next < 0) {
          return i + 1;
        }
        i = next + 1;
      }
    }
    return unterminated(s);
  }

  /**
   * The index of the quote that continues a string literal closed just before {@code i}, or -1.
   * PostgreSQL joins the two only if the whitespace between them holds a line break; {@code --}
   * comments may appear in it, block comments may not.
   */
  static int continuation(String s, int i) {
    int len = s.length();
    boolean sawNewline = false;
    while (i < len) {
      char c = s.charAt(i);
      if (isNewline(c)) {
        sawNewline = true;
        i++;
      } else if (isSpace(c)) {
        i++;
      } else if (c == '-' && startsWith(s, i, '-', '-')) {
        i = lineEnd(s, i + 2);
      } else if (c == '\'' && sawNewline) {
        return i;
      } else {
        return -1;
      }
    }
    return -1;
  }

  /**
   * The end of the double-quoted identifier opening at {@code q}, or {@link #unterminated} if it
   * never closes; {@code ""} is a quote.
   */
  static int quotedIdentifierSpan(String s, int q) {
    int len = s.length();
    int i = q + 1;
    while (i < len) {
      if (s.charAt(i) != '"') {
        i++;
      } else if (i + 1 < len && s.charAt(i + 1) == '"') {
        i += 2;
      } else {
        return i + 1;
      }
    }
    return unterminated(s);
  }

  static int identifierEnd(String s, int i) {
    int len = s.length();
    while (i < len && isIdentifierPart(s.charAt(i))) {
      i++;
    }
    return i;
  }

  /**
   * The end of the numeric constant at {@code i}: decimal with {@code _} separators, fraction and
   * exponent, or {@code 0x}/{@code 0o}/{@code 0b} integers. Junk after a number (an error in
   * PostgreSQL 15+) is left for the next token.
   */
  static int numberEnd(String s, int i) {
    int len = s.length();
    if (s.charAt(i) == '0' && i + 2 < len && "xXoObB".indexOf(s.charAt(i + 1)) >= 0) {
      int j = i + 2;
      while (j < len && (isAsciiLetterOrDigit(s.charAt(j)) || s.charAt(j) == '_')) {
        j++;
      }
      if (j > i + 2) {
        return j;
      }
    }
    int j = digitsEnd(s, i);
    if (j < len && s.charAt(j) == '.' && !(j + 1 < len && s.charAt(j + 1) == '.')) {
      j = digitsEnd(s, j + 1);
    }
    if (j < len && (s.charAt(j) == 'e' || s.charAt(j) == 'E')) {
      int k = j + 1;
      if (k < len && (s.charAt(k) == '+' || s.charAt(k) == '-')) {
        k++;
      }
      if (k < len && isDigit(s.charAt(k))) {
        j = digitsEnd(s, k);
      }
    }
    return j;
  }

  /**
   * The end of the operator starting at {@code i}. As in PostgreSQL, an operator stops where a
   * comment starts, and loses trailing {@code +}/{@code -} unless it contains one of {@code
   * ~!@#^&|`?%} (so {@code =-1} is {@code =} then {@code -1}).
   */
  static int operatorEnd(String s, int i) {
    int len = s.length();
    int j = i;
    while (j < len && isOperatorChar(s.charAt(j))) {
      if (j > i && (startsWith(s, j, '-', '-') || startsWith(s, j, '/', '*'))) {
        break;
      }
      j++;
    }
    int n = j - i;
    if (n > 1 && isPlusOrMinus(s.charAt(i + n - 1))) {
      for (int k = i; k < i + n - 1; k++) {
        if ("~!@#^&|`?%".indexOf(s.charAt(k)) >= 0) {
          return i + n;
        }
      }
      while (n > 1 && isPlusOrMinus(s.charAt(i + n - 1))) {
        n--;
      }
    }
    return i + n;
  }

  static boolean startsWith(String s, int i, char a, char b) {
    return i + 1 < s.length() && s.charAt(i) == a && s.charAt(i + 1) == b;
  }

  private static int digitsEnd(String s, int i) {
    int len = s.length();
    while (i < len && (isDigit(s.charAt(i)) || s.charAt(i) == '_')) {
      i++;
    }
    return i;
  }

  private static boolean isPlusOrMinus(char c) {
    return c == '+' || c == '-';
  }

  private static boolean isAsciiLetterOrDigit(char c) {
    return isDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  }
}
