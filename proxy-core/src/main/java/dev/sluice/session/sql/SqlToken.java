package dev.sluice.session.sql;

/**
 * One token of SQL text.
 *
 * @param kind what the token is
 * @param text for identifiers the name (ASCII-folded to lower case unless quoted, truncated to 63
 *     bytes as PostgreSQL does); for strings the decoded value; otherwise the source text
 * @param quoted whether an identifier was written in double quotes (so it is never a keyword)
 * @param start index of the token's first character in the source
 * @param end index after the token's last character
 */
public record SqlToken(Kind kind, String text, boolean quoted, int start, int end) {

  /**
   * Token kinds. Keywords are unquoted identifiers: PostgreSQL's lexer does not tell them apart.
   */
  public enum Kind {
    IDENTIFIER,
    STRING,
    NUMBER,
    PUNCTUATION,
    PARAM
  }

  /** Whether this is the unquoted word {@code lowerCaseWord}, i.e. that keyword. */
  public boolean isWord(String lowerCaseWord) {
    return kind == Kind.IDENTIFIER && !quoted && text.equals(lowerCaseWord);
  }

  public boolean isPunctuation(String punctuation) {
    return kind == Kind.PUNCTUATION && text.equals(punctuation);
  }

  /** Kind and position only: the text may be a literal value, which must not reach logs. */
  @Override
  public String toString() {
    return "SqlToken[" + kind + (quoted ? " quoted" : "") + " " + start + ".." + end + "]";
  }
}
