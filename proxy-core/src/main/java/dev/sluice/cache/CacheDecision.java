package dev.sluice.cache;

import dev.sluice.cache.Cacheability.Reason;

/**
 * What the query cache did with one statement, as counted by {@link CacheDecisions}: served it
 * ({@link #HIT}, {@link #STALE}), ran it and may store the result ({@link #MISS}), or let it
 * through uncached for a reason. {@link #label()} is the name the admin port shows.
 */
public enum CacheDecision {
  HIT("hit"),
  MISS("miss"),
  /** Served from an entry past its max_age but within stale_while_revalidate. */
  STALE("stale"),
  /** Inside an explicit transaction block. */
  TRANSACTION("uncacheable:transaction"),
  /** The session changed its role ({@code SET ROLE}, {@code SET SESSION AUTHORIZATION}). */
  ROLE("uncacheable:role"),
  NO_CACHE_HINT("uncacheable:" + Reason.NO_CACHE_HINT.label()),
  PARSE_ERROR("uncacheable:" + Reason.PARSE_ERROR.label()),
  OVERSIZED("uncacheable:" + Reason.OVERSIZED.label()),
  MULTI_STATEMENT("uncacheable:" + Reason.MULTI_STATEMENT.label()),
  NOT_A_QUERY("uncacheable:" + Reason.NOT_A_QUERY.label()),
  SELECT_INTO("uncacheable:" + Reason.SELECT_INTO.label()),
  DATA_MODIFYING_CTE("uncacheable:" + Reason.DATA_MODIFYING_CTE.label()),
  LOCKING_CLAUSE("uncacheable:" + Reason.LOCKING_CLAUSE.label()),
  TABLESAMPLE("uncacheable:" + Reason.TABLESAMPLE.label()),
  VOLATILE_FUNCTION("uncacheable:" + Reason.VOLATILE_FUNCTION.label()),
  STABLE_FUNCTION("uncacheable:" + Reason.STABLE_FUNCTION.label()),
  UNKNOWN_FUNCTION("uncacheable:" + Reason.UNKNOWN_FUNCTION.label()),
  SQL_VALUE_FUNCTION("uncacheable:" + Reason.SQL_VALUE_FUNCTION.label()),
  UNSAFE_CAST("uncacheable:" + Reason.UNSAFE_CAST.label()),
  SEQUENCE("uncacheable:" + Reason.SEQUENCE.label()),
  SYSTEM_CATALOG("uncacheable:" + Reason.SYSTEM_CATALOG.label()),
  TEMP_TABLE("uncacheable:" + Reason.TEMP_TABLE.label()),
  VIEW("uncacheable:" + Reason.VIEW.label()),
  ROW_SECURITY("uncacheable:" + Reason.ROW_SECURITY.label()),
  FOREIGN_TABLE("uncacheable:" + Reason.FOREIGN_TABLE.label()),
  UNKNOWN_RELATION("uncacheable:" + Reason.UNKNOWN_RELATION.label()),
  /**
   * The session's settings are not known well enough to key on: it is pinned in transaction mode
   * (SET ROLE, a temporary table, ...), or changed session state in session mode.
   */
  SESSION_STATE("uncacheable:session-state"),
  /** An extended-protocol batch of a shape the cache does not serve (named portal, max rows...). */
  PROTOCOL("uncacheable:protocol"),
  /** The result was larger than {@code --cache-max-entry-size}: streamed, not stored. */
  RESULT_TOO_LARGE("uncacheable:oversized-result");

  private final String label;

  CacheDecision(String label) {
    this.label = label;
  }

  public String label() {
    return label;
  }

  /** The decision for a statement its text makes uncacheable. */
  public static CacheDecision uncacheable(Reason reason) {
    return switch (reason) {
      case CACHEABLE ->
          throw new IllegalArgumentException("a cacheable statement is a hit or miss");
      case NO_CACHE_HINT -> NO_CACHE_HINT;
      case PARSE_ERROR -> PARSE_ERROR;
      case OVERSIZED -> OVERSIZED;
      case MULTI_STATEMENT -> MULTI_STATEMENT;
      case NOT_A_QUERY -> NOT_A_QUERY;
      case SELECT_INTO -> SELECT_INTO;
      case DATA_MODIFYING_CTE -> DATA_MODIFYING_CTE;
      case LOCKING_CLAUSE -> LOCKING_CLAUSE;
      case TABLESAMPLE -> TABLESAMPLE;
      case VOLATILE_FUNCTION -> VOLATILE_FUNCTION;
      case STABLE_FUNCTION -> STABLE_FUNCTION;
      case UNKNOWN_FUNCTION -> UNKNOWN_FUNCTION;
      case SQL_VALUE_FUNCTION -> SQL_VALUE_FUNCTION;
      case UNSAFE_CAST -> UNSAFE_CAST;
      case SEQUENCE -> SEQUENCE;
      case SYSTEM_CATALOG -> SYSTEM_CATALOG;
      case TEMP_TABLE -> TEMP_TABLE;
      case VIEW -> VIEW;
      case ROW_SECURITY -> ROW_SECURITY;
      case FOREIGN_TABLE -> FOREIGN_TABLE;
      case UNKNOWN_RELATION -> UNKNOWN_RELATION;
    };
  }
}
