package dev.sluice.cli;

/** "Did you mean ...?" for a mistyped config key: the known key fewest edits away, if close. */
final class Suggestions {
  private static final int MAX_EDITS = 3;

  private Suggestions() {}

  /** The file key of {@code flags} nearest to {@code typed}, or null when none is close. */
  static String nearest(String typed, Flag[] flags) {
    String best = null;
    int bestDistance = MAX_EDITS + 1;
    for (Flag f : flags) {
      String key = f.fileKey();
      if (key == null) {
        continue;
      }
      int d = distance(typed, key);
      if (d < bestDistance) {
        best = key;
        bestDistance = d;
      }
    }
    return bestDistance <= Math.min(MAX_EDITS, typed.length() / 2) ? best : null;
  }

  /** Levenshtein distance: insertions, deletions and substitutions. */
  static int distance(String a, String b) {
    int[] previous = new int[b.length() + 1];
    int[] current = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      previous[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      current[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int substitute = previous[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
        current[j] = Math.min(substitute, Math.min(previous[j], current[j - 1]) + 1);
      }
      int[] swap = previous;
      previous = current;
      current = swap;
    }
    return previous[b.length()];
  }
}
