package dev.sluice.error;

import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Set;

/**
 * Renders a throwable for a log line without trusting its shape. Cause and suppressed chains can be
 * cyclic or absurdly deep (the failure that makes naive loggers overflow the stack), so this walks
 * them iteratively, visits each throwable once, and stops after a fixed depth.
 */
public final class SafeErrors {
  static final int MAX_DEPTH = 8;
  static final int MAX_MESSAGE = 500;

  private SafeErrors() {}

  /** One line: {@code Type: message <- CauseType: message ...}, never more than a few KB. */
  public static String describe(Throwable t) {
    if (t == null) {
      return "null";
    }
    Set<Throwable> seen = Collections.newSetFromMap(new IdentityHashMap<>());
    StringBuilder sb = new StringBuilder();
    Throwable cur = t;
    int depth = 0;
    while (cur != null && depth < MAX_DEPTH) {
      if (!seen.add(cur)) {
        sb.append(" <- (cycle)");
        return sb.toString();
      }
      if (depth > 0) {
        sb.append(" <- ");
      }
      appendOne(sb, cur);
      int suppressed = safeSuppressedCount(cur);
      if (suppressed > 0) {
        sb.append(" [+").append(suppressed).append(" suppressed]");
      }
      cur = safeCause(cur);
      depth++;
    }
    if (cur != null && !seen.contains(cur)) {
      sb.append(" <- ...");
    }
    return sb.toString();
  }

  private static void appendOne(StringBuilder sb, Throwable t) {
    sb.append(t.getClass().getName());
    String msg;
    try {
      msg = t.getMessage();
    } catch (RuntimeException | StackOverflowError e) {
      msg = "(message unavailable)";
    }
    if (msg != null) {
      if (msg.length() > MAX_MESSAGE) {
        msg = msg.substring(0, MAX_MESSAGE) + "...";
      }
      sb.append(": ").append(msg.replace('\n', ' ').replace('\r', ' '));
    }
  }

  private static Throwable safeCause(Throwable t) {
    try {
      Throwable c = t.getCause();
      return c == t ? null : c;
    } catch (RuntimeException e) {
      return null;
    }
  }

  private static int safeSuppressedCount(Throwable t) {
    try {
      return t.getSuppressed().length;
    } catch (RuntimeException e) {
      return 0;
    }
  }
}
