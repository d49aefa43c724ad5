package dev.sluice.cli;

import dev.sluice.config.ConfigException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Flag values that have no parser in the core: bounded integers and byte sizes. Sizes use
 * PostgreSQL's memory units (B, kB, MB, GB; case-sensitive, 1kB = 1024 bytes) so a value copied
 * from postgresql.conf means the same here.
 */
final class FlagValues {
  private static final Pattern INTEGER = Pattern.compile("[+-]?\\d{1,18}");
  private static final Pattern SIZE = Pattern.compile("(\\d{1,18})\\s*(B|kB|MB|GB)?");
  private static final long KB = 1024;
  private static final long MB = KB * 1024;
  private static final long GB = MB * 1024;

  private FlagValues() {}

  /** An integer of at least {@code min}; anything else names the flag and the bound. */
  static int integer(String key, String text, int min) {
    String t = text.strip();
    long n = INTEGER.matcher(t).matches() ? Long.parseLong(t) : Long.MIN_VALUE;
    if (n < min || n > Integer.MAX_VALUE) {
      throw new ConfigException(key, text, "expected an integer >= " + min);
    }
    return (int) n;
  }

  /** A byte count such as {@code 1048576}, {@code 64kB} or {@code 128MB}, within the bounds. */
  /** {@code on} or {@code off} (also true/false, yes/no, 1/0). */
  static boolean onOff(String key, String text) {
    return switch (text.strip().toLowerCase(java.util.Locale.ROOT)) {
      case "on", "true", "yes", "1" -> true;
      case "off", "false", "no", "0" -> false;
      default -> throw new ConfigException(key, text, "expected on or off");
    };
  }

  static long size(String key, String text, long min, long max) {
    Matcher m = SIZE.matcher(text.strip());
    long bytes = -1;
    if (m.matches()) {
      long unit = unit(m.group(2));
      long n = Long.parseLong(m.group(1));
      bytes = n > max / unit ? Long.MAX_VALUE : n * unit;
    }
    if (bytes < min || bytes > max) {
      throw new ConfigException(
          key,
          text,
          "expected a size from "
              + formatSize(min)
              + " to "
              + formatSize(max)
              + ": bytes, or a number with kB, MB or GB, for example 128MB");
    }
    return bytes;
  }

  /** The shortest exact spelling {@link #size} accepts. */
  static String formatSize(long bytes) {
    if (bytes != 0 && bytes % GB == 0) {
      return bytes / GB + "GB";
    }
    if (bytes != 0 && bytes % MB == 0) {
      return bytes / MB + "MB";
    }
    if (bytes != 0 && bytes % KB == 0) {
      return bytes / KB + "kB";
    }
    return bytes + "B";
  }

  private static long unit(String suffix) {
    if (suffix == null) {
      return 1;
    }
    return switch (suffix) {
      case "kB" -> KB;
      case "MB" -> MB;
      case "GB" -> GB;
      default -> 1;
    };
  }
}
