package dev.sluice.session;

/** SQL text Sluice writes itself: values it quotes must mean the same on any session. */
public final class SqlLiteral {
  private SqlLiteral() {}

  /** An {@code E'...'} literal: the same meaning whatever standard_conforming_strings is. */
  public static String of(String s) {
    StringBuilder sb = new StringBuilder(s.length() + 4).append("E'");
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '\'' || c == '\\') {
        sb.append(c);
      }
      sb.append(c);
    }
    return sb.append('\'').toString();
  }

  /** A double-quoted identifier. */
  public static String identifier(String s) {
    return '"' + s.replace("\"", "\"\"") + '"';
  }
}
