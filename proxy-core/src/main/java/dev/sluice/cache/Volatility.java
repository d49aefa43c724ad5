package dev.sluice.cache;

/**
 * A function's volatility as {@code pg_proc.provolatile} records it, from least to most volatile.
 * Only an IMMUTABLE function returns the same result for the same arguments forever; a STABLE one
 * may change between statements (it reads the clock at transaction start, a setting or a table), so
 * a cached result of either of the latter two could be wrong.
 */
public enum Volatility {
  IMMUTABLE,
  STABLE,
  VOLATILE;

  /**
   * The volatility for a {@code provolatile} code: {@code 'i'}, {@code 's'} or {@code 'v'}. Any
   * other code, which a future PostgreSQL might add, is taken as VOLATILE.
   */
  public static Volatility ofCode(char code) {
    return switch (code) {
      case 'i' -> IMMUTABLE;
      case 's' -> STABLE;
      default -> VOLATILE;
    };
  }

  /** The more volatile of the two. */
  public Volatility atLeast(Volatility other) {
    return compareTo(other) >= 0 ? this : other;
  }
}
