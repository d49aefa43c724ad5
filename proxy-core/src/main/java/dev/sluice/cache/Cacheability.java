package dev.sluice.cache;

import dev.sluice.session.sql.SqlLexer;
import dev.sluice.session.sql.SqlToken;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * Whether the result of one statement's text may be served from the query cache, decided from the
 * statement's tokens and structure (see {@link StatementParser}), never by searching the text.
 *
 * <p>Cacheable: a single {@code SELECT}, {@code VALUES}, {@code TABLE} or {@code WITH ... SELECT}
 * with no data-modifying part, no {@code INTO}, no locking clause and no {@code TABLESAMPLE}, that
 * calls only IMMUTABLE functions, uses no SQL value function ({@code CURRENT_DATE}, {@code
 * CURRENT_USER}...), casts only to types whose input cannot read the clock, and reads no system
 * catalog, temporary table or sequence. Whether the statement runs inside an explicit transaction,
 * and whose role runs it, are the caller's to check: they are not in the text.
 *
 * @param reason {@link Reason#CACHEABLE}, or the first reason found against caching
 * @param relations the tables and views the statement reads, as written (CTE names excluded), for
 *     invalidation by table; complete only for statements that parsed as queries
 * @param functions the functions the statement calls, as written
 * @param ttl the lifetime a leading {@code /* sluice:ttl=5s *}{@code /} comment asks for
 */
public record Cacheability(
    Reason reason, Set<SqlName> relations, Set<SqlName> functions, Optional<Duration> ttl) {

  /** Why a statement may or may not be cached; {@link #label()} names it in counters. */
  public enum Reason {
    CACHEABLE("cacheable"),
    /** A leading {@code /* sluice:no-cache *}{@code /} (or {@code sluice:ttl=0}). */
    NO_CACHE_HINT("no-cache"),
    /** Text PostgreSQL would reject: an unterminated literal, unbalanced parentheses... */
    PARSE_ERROR("parse"),
    /** The text is longer than the classifier's limit; see {@link CacheabilityClassifier}. */
    OVERSIZED("oversized"),
    MULTI_STATEMENT("multi-statement"),
    /** Not a read: writes, DDL, {@code SET}, {@code EXPLAIN}, transaction control, empty text. */
    NOT_A_QUERY("not-a-query"),
    /** {@code SELECT ... INTO new_table} creates a table. */
    SELECT_INTO("select-into"),
    /** {@code WITH x AS (INSERT|UPDATE|DELETE|MERGE ...)}. */
    DATA_MODIFYING_CTE("data-modifying-cte"),
    /** {@code FOR UPDATE}, {@code FOR SHARE} and their variants. */
    LOCKING_CLAUSE("locking-clause"),
    TABLESAMPLE("tablesample"),
    /** A call of a VOLATILE function ({@code random()}). */
    VOLATILE_FUNCTION("volatile"),
    /** A call of a STABLE function ({@code now()}). */
    STABLE_FUNCTION("stable"),
    /** A call of a function the catalog does not know, which counts as volatile. */
    UNKNOWN_FUNCTION("unknown-function"),
    /** {@code CURRENT_DATE}, {@code CURRENT_USER} and the other SQL value functions. */
    SQL_VALUE_FUNCTION("sql-value-function"),
    /** A cast or typed literal of a type outside the known-safe list ({@code 'now'::date}). */
    UNSAFE_CAST("cast"),
    /** {@code nextval}, {@code currval}, {@code setval} or {@code lastval}. */
    SEQUENCE("sequence"),
    /** A relation in {@code pg_catalog}, {@code information_schema} or named {@code pg_*}. */
    SYSTEM_CATALOG("system-catalog"),
    /** A relation in {@code pg_temp}. */
    TEMP_TABLE("temp-table"),
    /**
     * A view: a write to the tables under it would not reach its entries. Materialized views are
     * cached (REFRESH invalidates them).
     */
    VIEW("view"),
    /** A table with row-level security, whose policy may read tables and settings of its own. */
    ROW_SECURITY("row-security"),
    /** A foreign table, which changes where Sluice cannot see. */
    FOREIGN_TABLE("foreign-table"),
    /**
     * A name the relation catalog does not hold: a temporary table, or one created since the
     * catalog was read.
     */
    UNKNOWN_RELATION("unknown-relation");

    private final String label;

    Reason(String label) {
      this.label = label;
    }

    public String label() {
      return label;
    }
  }

  public Cacheability {
    Objects.requireNonNull(reason, "reason");
    relations = Collections.unmodifiableSet(new LinkedHashSet<>(relations));
    functions = Collections.unmodifiableSet(new LinkedHashSet<>(functions));
    Objects.requireNonNull(ttl, "ttl");
  }

  static Cacheability refused(Reason reason, Optional<Duration> ttl) {
    return new Cacheability(reason, Set.of(), Set.of(), ttl);
  }

  public boolean cacheable() {
    return reason == Reason.CACHEABLE;
  }

  /** Decides for text sent with standard_conforming_strings on, PostgreSQL's default. */
  public static Cacheability classify(String sql, FunctionVolatility catalog) {
    return classify(sql, true, catalog);
  }

  /**
   * Decides for one Query message's text, or one Parse message's.
   *
   * @param standardConformingStrings the session's setting, which changes how strings lex
   * @param catalog the volatility of the backend's functions
   */
  public static Cacheability classify(
      String sql, boolean standardConformingStrings, FunctionVolatility catalog) {
    QueryHints hints = QueryHints.of(SqlLexer.leadingComments(sql));
    if (hints.noCache()) {
      return refused(Reason.NO_CACHE_HINT, hints.ttl());
    }
    List<List<SqlToken>> statements = new ArrayList<>();
    if (!SqlLexer.statementsInto(sql, standardConformingStrings, statements)) {
      return refused(Reason.PARSE_ERROR, hints.ttl());
    }
    if (statements.size() > 1) {
      return refused(Reason.MULTI_STATEMENT, hints.ttl());
    }
    if (statements.isEmpty()) {
      return refused(Reason.NOT_A_QUERY, hints.ttl());
    }
    return new StatementParser(statements.get(0), catalog).parse(hints.ttl());
  }
}
