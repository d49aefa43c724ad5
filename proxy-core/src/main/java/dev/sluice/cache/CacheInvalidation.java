package dev.sluice.cache;

import java.util.Collection;

/**
 * Where news of changed tables goes: the result cache drops what it holds of them. Writes that pass
 * through Sluice are reported by the sessions that commit them; writes made elsewhere by the opt-in
 * sources (a NOTIFY channel, the WAL). Thread-safe; callers may be on any thread.
 */
public interface CacheInvalidation {
  /**
   * Tables of {@code database} changed: entries that read any of them are stale.
   *
   * @param tables table names, unqualified or {@code schema.name}, folded as PostgreSQL folds
   *     unquoted identifiers (the schema is ignored: a name invalidates that name in every schema)
   */
  void tables(String database, Collection<String> tables);

  /** Anything in {@code database} may have changed (DDL, a lost invalidation feed). */
  void database(String database);

  /** Everything may have changed. */
  void all();

  CacheInvalidation NONE =
      new CacheInvalidation() {
        @Override
        public void tables(String database, Collection<String> tables) {}

        @Override
        public void database(String database) {}

        @Override
        public void all() {}
      };
}
