package dev.sluice.auth;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Ticker;
import java.net.InetAddress;
import java.time.Duration;

/**
 * Failed logins counted per client address, so that one address cannot try passwords at the speed
 * of the network. Failures each within {@code window} of the one before count together; once an
 * address has {@code limit} of them, its logins are refused before any password exchange until
 * {@code window} has passed since its last failure. A refused login is not a failure (it proves
 * nothing about a password), so a locked address is free again one window after it was locked,
 * however often it knocks meanwhile. Successful logins do not reset the count: behind a shared
 * address the guesser's failures would otherwise be forgiven by everyone else's logins.
 *
 * <p>The map is bounded (Caffeine, size-bounded and expiring), so a storm from many addresses costs
 * a fixed amount of memory; an address evicted under such a storm starts again from zero. Safe for
 * use from any thread.
 */
public final class FailedLogins {
  /** Addresses tracked at most: about 100 bytes each. */
  static final long MAX_ADDRESSES = 100_000;

  /** An address's failures so far and when the last one was, on the ticker's clock. */
  private record Failures(int count, long lastNanos) {}

  private final int limit;
  private final Duration window;
  private final Ticker ticker;
  private final Cache<InetAddress, Failures> failures;

  /** On the system's clock. */
  public FailedLogins(int limit, Duration window) {
    this(limit, window, Ticker.systemTicker());
  }

  /**
   * @param limit failures that lock an address; 0 turns the limit off
   * @param window how close failures must come, and how long a lock lasts after the last one
   * @param ticker the clock (nanoseconds), {@link Ticker#systemTicker()} outside tests
   */
  public FailedLogins(int limit, Duration window, Ticker ticker) {
    if (limit < 0 || window.isNegative() || window.isZero()) {
      throw new IllegalArgumentException("limit " + limit + ", window " + window);
    }
    this.limit = limit;
    this.window = window;
    this.ticker = ticker;
    this.failures =
        Caffeine.newBuilder()
            .maximumSize(MAX_ADDRESSES)
            .expireAfterWrite(window)
            .ticker(ticker)
            .build();
  }

  /**
   * @return how long logins from {@code address} are still refused, or null when they are not
   */
  public Duration lockedFor(InetAddress address) {
    if (limit == 0) {
      return null;
    }
    Failures f = failures.getIfPresent(address);
    if (f == null || f.count() < limit) {
      return null;
    }
    long left = window.toNanos() - (ticker.read() - f.lastNanos());
    return left <= 0 ? null : Duration.ofNanos(left);
  }

  /**
   * Counts a failed login from {@code address}.
   *
   * @return true when this failure is the one that locks the address (to be logged once)
   */
  public boolean failed(InetAddress address) {
    if (limit == 0) {
      return false;
    }
    long now = ticker.read();
    Failures f =
        failures
            .asMap()
            .compute(address, (a, was) -> new Failures(was == null ? 1 : was.count() + 1, now));
    return f.count() == limit;
  }

  public int limit() {
    return limit;
  }

  public Duration window() {
    return window;
  }
}
