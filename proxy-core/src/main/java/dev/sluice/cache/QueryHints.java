package dev.sluice.cache;

import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Per-query cache control written in the comments that lead a statement: {@code /* sluice:no-cache
 * *}{@code /} and {@code /* sluice:ttl=5s *}{@code /} (units {@code ms}, {@code s}, {@code m},
 * {@code h}; seconds if none). Several directives may share a comment, separated by spaces or
 * commas; {@code --} comments work too. {@code ttl=0} means no-cache. A directive that cannot be
 * read ({@code sluice:ttl=soon}) is ignored: the statement still runs, just without the hint.
 *
 * @param noCache whether the statement must not be served from or stored in the cache
 * @param ttl the lifetime asked for, if any
 */
record QueryHints(boolean noCache, Optional<Duration> ttl) {
  private static final String PREFIX = "sluice:";
  private static final Pattern TTL = Pattern.compile("ttl=(\\d{1,9})(ms|s|m|h)?");
  private static final QueryHints NONE = new QueryHints(false, Optional.empty());

  static QueryHints of(List<String> leadingComments) {
    QueryHints hints = NONE;
    for (String comment : leadingComments) {
      for (String word : comment.split("[\\s,]+")) {
        String w = word.toLowerCase(Locale.ROOT);
        if (w.startsWith(PREFIX)) {
          hints = hints.with(w.substring(PREFIX.length()));
        }
      }
    }
    return hints;
  }

  private QueryHints with(String directive) {
    if (directive.equals("no-cache")) {
      return new QueryHints(true, ttl);
    }
    Matcher m = TTL.matcher(directive);
    if (!m.matches()) {
      return this;
    }
    Duration d = duration(Long.parseLong(m.group(1)), m.group(2));
    return d.isZero() ? new QueryHints(true, ttl) : new QueryHints(noCache, Optional.of(d));
  }

  private static Duration duration(long amount, String unit) {
    if (unit == null) {
      return Duration.ofSeconds(amount);
    }
    return switch (unit) {
      case "ms" -> Duration.ofMillis(amount);
      case "m" -> Duration.ofMinutes(amount);
      case "h" -> Duration.ofHours(amount);
      default -> Duration.ofSeconds(amount);
    };
  }
}
