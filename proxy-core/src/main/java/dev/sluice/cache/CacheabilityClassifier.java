package dev.sluice.cache;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.util.Objects;
import java.util.Optional;

/**
 * Decides {@link Cacheability} once per statement text and remembers the decision, so that a
 * statement run thousands of times is parsed once. Decisions depend on the function catalog as well
 * as on the text: {@link #replaceCatalog} (after a {@code pg_proc} refresh) forgets them all, and
 * each remembered decision is keyed by the catalog version it was made with, so a decision computed
 * with the old catalog while the swap happens is never served under the new one.
 *
 * <p>The memo is bounded by the total length of the texts it holds plus a fixed cost per entry (the
 * default holds about 10,000 statements of 500 characters). Text longer than {@code
 * maxStatementLength} is refused as {@link Cacheability.Reason#OVERSIZED} without being parsed or
 * remembered. Thread-safe.
 */
public final class CacheabilityClassifier {
  /** Longest statement text considered, in characters. */
  public static final int DEFAULT_MAX_STATEMENT_LENGTH = 64 * 1024;

  /** The memo's capacity, in characters of text plus {@link #ENTRY_WEIGHT} per entry. */
  public static final long DEFAULT_MEMO_WEIGHT = 8L * 1024 * 1024;

  /** The cost of one remembered decision beyond its text, in characters. */
  static final int ENTRY_WEIGHT = 300;

  private record Key(String sql, boolean standardConformingStrings, long catalogVersion) {}

  private record Snapshot(FunctionVolatility catalog, RelationCatalog relations, long version) {}

  /**
   * What the cache needs to know of one statement text.
   *
   * @param read whether its result may be cached (relations checked against the catalog)
   * @param writes what it may change, for invalidation
   */
  public record StatementFacts(Cacheability read, WriteTargets writes) {}

  private final int maxStatementLength;
  private final Cache<Key, StatementFacts> memo;
  private volatile Snapshot current;

  public CacheabilityClassifier(FunctionVolatility catalog) {
    this(catalog, DEFAULT_MAX_STATEMENT_LENGTH, DEFAULT_MEMO_WEIGHT);
  }

  public CacheabilityClassifier(
      FunctionVolatility catalog, int maxStatementLength, long memoWeight) {
    if (maxStatementLength <= 0) {
      throw new IllegalArgumentException(
          "maxStatementLength must be positive, was " + maxStatementLength);
    }
    if (memoWeight < 0) {
      throw new IllegalArgumentException("memoWeight must not be negative, was " + memoWeight);
    }
    this.maxStatementLength = maxStatementLength;
    this.current =
        new Snapshot(Objects.requireNonNull(catalog, "catalog"), RelationCatalog.empty(), 0);
    this.memo =
        Caffeine.newBuilder()
            .maximumWeight(memoWeight)
            .<Key, StatementFacts>weigher((key, value) -> key.sql().length() + ENTRY_WEIGHT)
            .executor(Runnable::run)
            .build();
  }

  /** Decides for text sent with standard_conforming_strings on. */
  public Cacheability classify(String sql) {
    return classify(sql, true);
  }

  /** Decides for one Query or Parse message's text. */
  public Cacheability classify(String sql, boolean standardConformingStrings) {
    return facts(sql, standardConformingStrings).read();
  }

  /** Whether {@code sql} may be cached and what it may change; remembered per text. */
  public StatementFacts facts(String sql, boolean standardConformingStrings) {
    Snapshot snapshot = current;
    if (sql.length() > maxStatementLength) {
      Cacheability refused = Cacheability.refused(Cacheability.Reason.OVERSIZED, Optional.empty());
      return new StatementFacts(
          refused, WriteTargets.of(sql, standardConformingStrings, refused, snapshot.catalog()));
    }
    return memo.get(
        new Key(sql, standardConformingStrings, snapshot.version()),
        key -> decide(sql, standardConformingStrings, snapshot));
  }

  private static StatementFacts decide(String sql, boolean scs, Snapshot snapshot) {
    Cacheability read = Cacheability.classify(sql, scs, snapshot.catalog());
    if (read.cacheable()) {
      Optional<Cacheability.Reason> refusal = snapshot.relations().refusal(read.relations());
      if (refusal.isPresent()) {
        return new StatementFacts(
            new Cacheability(refusal.get(), read.relations(), read.functions(), read.ttl()),
            WriteTargets.none());
      }
      return new StatementFacts(read, WriteTargets.none());
    }
    return new StatementFacts(read, WriteTargets.of(sql, scs, read, snapshot.catalog()));
  }

  /** Uses {@code catalog} from now on and forgets every decision made with the previous one. */
  public synchronized void replaceCatalog(FunctionVolatility catalog) {
    replaceCatalogs(catalog, current.relations());
  }

  /** Uses both catalogs from now on and forgets every decision made with the previous ones. */
  public synchronized void replaceCatalogs(FunctionVolatility catalog, RelationCatalog relations) {
    current =
        new Snapshot(
            Objects.requireNonNull(catalog, "catalog"),
            Objects.requireNonNull(relations, "relations"),
            current.version() + 1);
    memo.invalidateAll();
  }

  public RelationCatalog relations() {
    return current.relations();
  }

  public FunctionVolatility catalog() {
    return current.catalog();
  }

  /** How many decisions are remembered; for tests and the admin view. */
  public long memoSize() {
    memo.cleanUp();
    return memo.estimatedSize();
  }
}
