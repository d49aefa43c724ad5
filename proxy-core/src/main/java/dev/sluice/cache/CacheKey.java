package dev.sluice.cache;

import java.util.Arrays;
import java.util.Objects;

/**
 * What makes two requests the same to the result cache: the {@code context} (database, user and
 * every session setting, see {@link ResultCache#context}) and the request's own bytes (the Query
 * text, or an extended-protocol batch with its names taken out: statement text, parameter type
 * OIDs, parameter formats and values, result formats, which Describes).
 */
public final class CacheKey {
  private final String database;
  private final String context;
  private final byte[] request;
  private final int hash;

  public CacheKey(String database, String context, byte[] request) {
    this.database = Objects.requireNonNull(database, "database");
    this.context = Objects.requireNonNull(context, "context");
    this.request = request;
    this.hash = context.hashCode() * 31 + Arrays.hashCode(request);
  }

  public String database() {
    return database;
  }

  /** The bytes held, for the cache's weight. */
  int weight() {
    return context.length() + request.length + 48;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof CacheKey k
        && k.hash == hash
        && Arrays.equals(k.request, request)
        && k.context.equals(context);
  }

  @Override
  public int hashCode() {
    return hash;
  }

  /** Never the request: it holds parameter values. */
  @Override
  public String toString() {
    return "CacheKey[" + database + ", " + request.length + " bytes]";
  }
}
