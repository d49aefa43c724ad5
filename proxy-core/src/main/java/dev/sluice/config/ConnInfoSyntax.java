package dev.sluice.config;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * libpq's key/value connection string: {@code host=db port=5432 password='it\\'s'}, where a value
 * is single-quoted to hold spaces and a backslash escapes the next character.
 */
final class ConnInfoSyntax {
  private ConnInfoSyntax() {}

  /** libpq's conninfo grammar: {@code keyword = value}, values quoted with ' and \ escapes. */
  static Map<String, String> keywords(String t, UpstreamUrl.Blame blame) {
    Map<String, String> keywords = new LinkedHashMap<>();
    int i = skipSpace(t, 0);
    while (i < t.length()) {
      int start = i;
      while (i < t.length() && t.charAt(i) != '=' && !Character.isWhitespace(t.charAt(i))) {
        i++;
      }
      String name = t.substring(start, i);
      i = skipSpace(t, i);
      if (name.isEmpty() || i >= t.length() || t.charAt(i) != '=') {
        throw blame.at("keyword", name, "expected keyword=value pairs separated by spaces");
      }
      i = skipSpace(t, i + 1);
      StringBuilder value = new StringBuilder();
      boolean quoted = i < t.length() && t.charAt(i) == '\'';
      i = quoted ? readQuoted(t, i + 1, value) : readBare(t, i, value);
      if (i < 0) {
        throw blame.at(name, null, "unterminated quoted value");
      }
      keywords.put(name, value.toString());
      i = skipSpace(t, i);
    }
    return keywords;
  }

  /** Reads up to the closing quote; returns the index after it, or -1 if there is none. */
  private static int readQuoted(String t, int i, StringBuilder out) {
    while (i < t.length()) {
      char c = t.charAt(i++);
      if (c == '\'') {
        return i;
      }
      if (c == '\\') {
        if (i < t.length()) {
          out.append(t.charAt(i++));
        }
      } else {
        out.append(c);
      }
    }
    return -1;
  }

  private static int readBare(String t, int i, StringBuilder out) {
    while (i < t.length() && !Character.isWhitespace(t.charAt(i))) {
      char c = t.charAt(i++);
      if (c == '\\') {
        if (i < t.length()) {
          out.append(t.charAt(i++));
        }
      } else {
        out.append(c);
      }
    }
    return i;
  }

  private static int skipSpace(String t, int i) {
    while (i < t.length() && Character.isWhitespace(t.charAt(i))) {
      i++;
    }
    return i;
  }
}
