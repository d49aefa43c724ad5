package dev.sluice.config;

import java.time.Duration;
import java.util.Locale;
import java.util.Objects;

/**
 * The query result cache's settings ({@code --cache*} flags).
 *
 * @param enabled {@code --cache on|off}
 * @param maxSize {@code --cache-max-size}: bytes of stored answers and keys
 * @param maxEntrySize {@code --cache-max-entry-size}: a larger answer is streamed, not stored
 * @param maxAge {@code --cache-max-age}: how long an answer is fresh
 * @param staleWhileRevalidate {@code --cache-stale-while-revalidate}: served stale meanwhile
 * @param invalidation {@code --cache-invalidation}: {@code max-age} alone, or the WAL too
 * @param channel {@code --cache-invalidation-channel}: a NOTIFY channel to listen on, or null
 * @param publication the publication WAL invalidation reads ({@code sluice_cache})
 */
public record CacheConfig(
    boolean enabled,
    long maxSize,
    long maxEntrySize,
    Duration maxAge,
    Duration staleWhileRevalidate,
    Invalidation invalidation,
    String channel,
    String publication) {

  /** Where news of writes Sluice does not see comes from. */
  public enum Invalidation {
    /** None: such writes show once entries age out. */
    MAX_AGE,
    /** PostgreSQL's logical replication (a publication and a temporary slot). */
    WAL;

    public String flagValue() {
      return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    public static Invalidation parse(String key, String text) {
      String t = text.strip().toLowerCase(Locale.ROOT);
      for (Invalidation i : values()) {
        if (i.flagValue().equals(t)) {
          return i;
        }
      }
      throw new ConfigException(key, text, "expected max-age or wal");
    }
  }

  public static final CacheConfig DEFAULTS =
      new CacheConfig(
          true,
          256L << 20,
          1L << 20,
          Duration.ofSeconds(60),
          Duration.ofSeconds(15),
          Invalidation.MAX_AGE,
          null,
          "sluice_cache");

  public CacheConfig {
    Objects.requireNonNull(maxAge, "maxAge");
    Objects.requireNonNull(staleWhileRevalidate, "staleWhileRevalidate");
    Objects.requireNonNull(invalidation, "invalidation");
    if (maxSize < 0) {
      throw new ConfigException("--cache-max-size", Long.toString(maxSize), "must not be negative");
    }
    if (maxEntrySize < 1) {
      throw new ConfigException(
          "--cache-max-entry-size", Long.toString(maxEntrySize), "expected at least 1 byte");
    }
    if (maxAge.isNegative() || maxAge.isZero()) {
      throw new ConfigException(
          "--cache-max-age", Durations.format(maxAge), "expected a positive duration such as 60s");
    }
    if (staleWhileRevalidate.isNegative()) {
      throw new ConfigException(
          "--cache-stale-while-revalidate",
          Durations.format(staleWhileRevalidate),
          "must not be negative");
    }
    if (channel != null && channel.isBlank()) {
      channel = null;
    }
  }

  public CacheConfig withEnabled(boolean v) {
    return new CacheConfig(
        v, maxSize, maxEntrySize, maxAge, staleWhileRevalidate, invalidation, channel, publication);
  }

  public CacheConfig withMaxSize(long v) {
    return new CacheConfig(
        enabled, v, maxEntrySize, maxAge, staleWhileRevalidate, invalidation, channel, publication);
  }

  public CacheConfig withMaxEntrySize(long v) {
    return new CacheConfig(
        enabled, maxSize, v, maxAge, staleWhileRevalidate, invalidation, channel, publication);
  }

  public CacheConfig withMaxAge(Duration v) {
    return new CacheConfig(
        enabled,
        maxSize,
        maxEntrySize,
        v,
        staleWhileRevalidate,
        invalidation,
        channel,
        publication);
  }

  public CacheConfig withStaleWhileRevalidate(Duration v) {
    return new CacheConfig(
        enabled, maxSize, maxEntrySize, maxAge, v, invalidation, channel, publication);
  }

  public CacheConfig withInvalidation(Invalidation v) {
    return new CacheConfig(
        enabled, maxSize, maxEntrySize, maxAge, staleWhileRevalidate, v, channel, publication);
  }

  public CacheConfig withPublication(String v) {
    return new CacheConfig(
        enabled, maxSize, maxEntrySize, maxAge, staleWhileRevalidate, invalidation, channel, v);
  }

  public CacheConfig withChannel(String v) {
    return new CacheConfig(
        enabled, maxSize, maxEntrySize, maxAge, staleWhileRevalidate, invalidation, v, publication);
  }
}
