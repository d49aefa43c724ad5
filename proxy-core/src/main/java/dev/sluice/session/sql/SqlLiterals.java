package dev.sluice.session.sql;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Values of identifier and string tokens, decoded as PostgreSQL decodes them. Decoding is lazy: the
 * lexer only records where a token's body lies, so literals nobody asks about cost nothing.
 */
final class SqlLiterals {
  /** Identifiers are truncated to NAMEDATALEN - 1 bytes, as PostgreSQL does. */
  static final int MAX_IDENTIFIER_BYTES = 63;

  /** Escape character of a {@code UESCAPE} clause that was not a single character. */
  static final char NO_ESCAPE = '\uFFFF';

  private SqlLiterals() {}

  static String identifier(String s, LiteralForm form, int bodyStart, int bodyEnd, char escape) {
    return switch (form) {
      case WORD -> truncate(lowerAscii(s.substring(bodyStart, bodyEnd)));
      case QUOTED_IDENTIFIER -> truncate(undouble(s, bodyStart, bodyEnd, '"'));
      case UNICODE_IDENTIFIER -> truncate(unicode(undouble(s, bodyStart, bodyEnd, '"'), escape));
      default -> throw new IllegalArgumentException(form.name());
    };
  }

  static String string(String s, LiteralForm form, int bodyStart, int bodyEnd, char escape) {
    return switch (form) {
      case DOLLAR -> s.substring(bodyStart, bodyEnd);
      case ESCAPE -> escaped(s, bodyStart, bodyEnd);
      case UNICODE -> unicode(segments(s, bodyStart, bodyEnd), escape);
      case STANDARD, BITS -> segments(s, bodyStart, bodyEnd);
      default -> throw new IllegalArgumentException(form.name());
    };
  }

  /** ASCII-only lower case, as PostgreSQL folds identifiers and compares setting names. */
  static String lowerAscii(String v) {
    for (int i = 0; i < v.length(); i++) {
      char c = v.charAt(i);
      if (c >= 'A' && c <= 'Z') {
        char[] chars = v.toCharArray();
        for (int k = i; k < chars.length; k++) {
          if (chars[k] >= 'A' && chars[k] <= 'Z') {
            chars[k] = (char) (chars[k] + ('a' - 'A'));
          }
        }
        return new String(chars);
      }
    }
    return v;
  }

  /** Cuts an identifier to at most 63 UTF-8 bytes without splitting a character. */
  static String truncate(String id) {
    if (id.length() * 3 <= MAX_IDENTIFIER_BYTES) {
      return id;
    }
    int bytes = 0;
    for (int i = 0; i < id.length(); ) {
      int cp = id.codePointAt(i);
      int n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
      if (bytes + n > MAX_IDENTIFIER_BYTES) {
        return id.substring(0, i);
      }
      bytes += n;
      i += Character.charCount(cp);
    }
    return id;
  }

  /** The text between the quote at {@code q} and its closing quote, doubled quotes undoubled. */
  private static String undouble(String s, int q, int end, char quote) {
    StringBuilder out = new StringBuilder(end - q);
    int i = q + 1;
    while (i < end) {
      char c = s.charAt(i);
      if (c == quote) {
        if (i + 1 < end && s.charAt(i + 1) == quote) {
          out.append(quote);
          i += 2;
          continue;
        }
        break;
      }
      out.append(c);
      i++;
    }
    return out.toString();
  }

  /** A string literal without backslash escapes, continuation segments joined. */
  private static String segments(String s, int q, int end) {
    StringBuilder out = new StringBuilder(end - q);
    int i = q + 1;
    while (true) {
      while (i < end) {
        char c = s.charAt(i);
        if (c == '\'') {
          if (i + 1 < end && s.charAt(i + 1) == '\'') {
            out.append('\'');
            i += 2;
            continue;
          }
          break;
        }
        out.append(c);
        i++;
      }
      int next = i < end ? SqlSyntax.continuation(s, i + 1) : -1;
      if (next < 0 || next >= end) {
        return out.toString();
      }
      i = next + 1;
    }
  }

  /**
   * An {@code E'...'} literal. Octal and hex escapes produce bytes, so the value is assembled as
   * UTF-8 and decoded at the end ({@code E'\303\251'} is "é").
   */
  private static String escaped(String s, int q, int end) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(end - q);
    int i = q + 1;
    while (true) {
      int run = i;
      while (i < end) {
        char c = s.charAt(i);
        if (c == '\'' || (c == '\\' && i + 1 < end)) {
          writeUtf8(out, s.substring(run, i));
          if (c == '\\') {
            i = escape(s, i, end, out);
          } else if (i + 1 < end && s.charAt(i + 1) == '\'') {
            out.write('\'');
            i += 2;
          } else {
            break;
          }
          run = i;
        } else {
          i++;
        }
      }
      if (i >= end) {
        writeUtf8(out, s.substring(run, end));
        return out.toString(StandardCharsets.UTF_8);
      }
      int next = SqlSyntax.continuation(s, i + 1);
      if (next < 0 || next >= end) {
        return out.toString(StandardCharsets.UTF_8);
      }
      i = next + 1;
    }
  }

  /** Decodes the backslash escape at {@code i}; returns the index after it. */
  private static int escape(String s, int i, int end, ByteArrayOutputStream out) {
    char c = s.charAt(i + 1);
    switch (c) {
      case 'b' -> out.write('\b');
      case 'f' -> out.write('\f');
      case 'n' -> out.write('\n');
      case 'r' -> out.write('\r');
      case 't' -> out.write('\t');
      case 'x' -> {
        int j = i + 2;
        int v = 0;
        while (j < end && j < i + 4 && Character.digit(s.charAt(j), 16) >= 0) {
          v = v * 16 + Character.digit(s.charAt(j++), 16);
        }
        if (j == i + 2) {
          out.write('x');
        } else {
          out.write(v);
        }
        return j;
      }
      case 'u', 'U' -> {
        int digits = c == 'u' ? 4 : 8;
        int cp = hex(s, i + 2, Math.min(end, i + 2 + digits), digits);
        if (cp < 0) {
          out.write(c);
          return i + 2;
        }
        int next = i + 2 + digits;
        if (Character.isHighSurrogate((char) cp) && SqlSyntax.startsWith(s, next, '\\', 'u')) {
          int low = hex(s, next + 2, end, 4);
          if (low >= 0 && Character.isLowSurrogate((char) low)) {
            writeUtf8(out, new String(new char[] {(char) cp, (char) low}));
            return next + 6;
          }
        }
        writeUtf8(out, codePoint(cp));
        return next;
      }
      default -> {
        if (c >= '0' && c <= '7') {
          int j = i + 1;
          int v = 0;
          while (j < end && j < i + 4 && s.charAt(j) >= '0' && s.charAt(j) <= '7') {
            v = v * 8 + (s.charAt(j++) - '0');
          }
          out.write(v & 0xFF);
          return j;
        }
        int n = Character.charCount(s.codePointAt(i + 1));
        writeUtf8(out, s.substring(i + 1, Math.min(end, i + 1 + n)));
        return i + 1 + n;
      }
    }
    return i + 2;
  }

  /** Applies {@code U&} escapes: {@code \XXXX}, {@code \+XXXXXX}, and a doubled escape char. */
  private static String unicode(String v, char escape) {
    if (v.indexOf(escape) < 0) {
      return v;
    }
    StringBuilder out = new StringBuilder(v.length());
    int n = v.length();
    int i = 0;
    while (i < n) {
      char c = v.charAt(i);
      if (c != escape) {
        out.append(c);
        i++;
      } else if (i + 1 < n && v.charAt(i + 1) == escape) {
        out.append(escape);
        i += 2;
      } else if (i + 1 < n && v.charAt(i + 1) == '+' && hex(v, i + 2, n, 6) >= 0) {
        out.append(codePoint(hex(v, i + 2, n, 6)));
        i += 8;
      } else if (hex(v, i + 1, n, 4) >= 0) {
        out.append(codePoint(hex(v, i + 1, n, 4)));
        i += 5;
      } else {
        out.append(c);
        i++;
      }
    }
    return out.toString();
  }

  /** The value of exactly {@code digits} hex digits at {@code i} (before {@code end}), or -1. */
  private static int hex(String s, int i, int end, int digits) {
    if (i + digits > end) {
      return -1;
    }
    long v = 0;
    for (int k = i; k < i + digits; k++) {
      int d = Character.digit(s.charAt(k), 16);
      if (d < 0) {
        return -1;
      }
      v = v * 16 + d;
    }
    return v > Integer.MAX_VALUE ? Integer.MAX_VALUE : (int) v;
  }

  /** A code point as text; surrogate halves stay single chars so that escaped pairs rejoin. */
  private static String codePoint(int cp) {
    if (cp >= Character.MIN_SURROGATE && cp <= Character.MAX_SURROGATE) {
      return String.valueOf((char) cp);
    }
    return Character.isValidCodePoint(cp) ? new String(Character.toChars(cp)) : "\uFFFD";
  }

  private static void writeUtf8(ByteArrayOutputStream out, String text) {
    if (!text.isEmpty()) {
      out.writeBytes(text.getBytes(StandardCharsets.UTF_8));
    }
  }
}
