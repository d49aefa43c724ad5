package dev.sluice.relay;

import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;

/** Which way bytes travel through the relay. */
public enum Direction {
  /** From the connecting client towards the target. */
  UPSTREAM("up"),
  /** From the target back to the client. */
  DOWNSTREAM("down");

  /** Both directions. */
  public static final Set<Direction> BOTH = Set.copyOf(EnumSet.allOf(Direction.class));

  private final String word;

  Direction(String word) {
    this.word = word;
  }

  /** {@code up} or {@code down}, as the control commands spell it. */
  public String word() {
    return word;
  }

  /**
   * The directions a control word names: {@code up}, {@code down} or {@code both}; null when it
   * names none.
   */
  public static Set<Direction> parse(String word) {
    return switch (word.toLowerCase(Locale.ROOT)) {
      case "up" -> Set.of(UPSTREAM);
      case "down" -> Set.of(DOWNSTREAM);
      case "both" -> BOTH;
      default -> null;
    };
  }
}
