package dev.sluice.session;

import dev.sluice.error.SluiceException;
import dev.sluice.error.SqlState;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The {@code options} startup parameter: command-line style switches for the backend, split on
 * unescaped whitespace ({@code \} escapes the next character), as PostgreSQL's pg_split_opts does.
 * Sluice accepts the setting forms only: {@code -c name=value}, {@code -cname=value} and {@code
 * --name=value}.
 */
final class StartupOptions {
  private StartupOptions() {}

  static Map<String, String> parse(String options) {
    List<String> words = split(options);
    Map<String, String> out = new LinkedHashMap<>();
    for (int i = 0; i < words.size(); i++) {
      String w = words.get(i);
      String item;
      if (w.equals("-c")) {
        if (i + 1 >= words.size()) {
          throw unsupported(w);
        }
        item = words.get(++i);
      } else if (w.startsWith("-c")) {
        item = w.substring(2);
      } else if (w.startsWith("--")) {
        item = w.substring(2);
      } else {
        throw unsupported(w);
      }
      int eq = item.indexOf('=');
      if (eq <= 0) {
        throw unsupported(w);
      }
      out.put(item.substring(0, eq).replace('-', '_'), item.substring(eq + 1));
    }
    return out;
  }

  private static List<String> split(String s) {
    List<String> words = new ArrayList<>();
    StringBuilder cur = new StringBuilder();
    boolean inWord = false;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (Character.isWhitespace(c)) {
        if (inWord) {
          words.add(cur.toString());
          cur.setLength(0);
          inWord = false;
        }
        continue;
      }
      inWord = true;
      if (c == '\\' && i + 1 < s.length()) {
        c = s.charAt(++i);
      }
      cur.append(c);
    }
    if (inWord) {
      words.add(cur.toString());
    }
    return words;
  }

  private static SluiceException unsupported(String word) {
    return SluiceException.fatal(
        SqlState.FEATURE_NOT_SUPPORTED,
        "unsupported startup option \"" + word + "\": Sluice accepts only -c name=value");
  }
}
