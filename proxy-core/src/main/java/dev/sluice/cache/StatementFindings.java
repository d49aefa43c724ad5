package dev.sluice.cache;

import dev.sluice.cache.Cacheability.Reason;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.Optional;
import java.util.Set;

/**
 * What {@link StatementParser} finds in a statement and what each finding means for caching: the
 * relations it reads, the functions it calls (their volatility looked up) and the types it casts
 * to. The first reason found not to cache the statement is the one reported.
 */
final class StatementFindings {
  private final FunctionVolatility catalog;
  private final Set<SqlName> relations = new LinkedHashSet<>();
  private final Set<SqlName> functions = new LinkedHashSet<>();
  private Reason reason;

  StatementFindings(FunctionVolatility catalog) {
    this.catalog = catalog;
  }

  /** The verdict on a statement read to its end without a parse error. */
  Cacheability cacheability(Optional<Duration> ttl) {
    return new Cacheability(reason == null ? Reason.CACHEABLE : reason, relations, functions, ttl);
  }

  /** A cast to {@code type}, by {@code ::}, {@code CAST} or a typed literal. */
  void castTo(SqlName type) {
    boolean builtin = !type.qualified() || type.schema().equals("pg_catalog");
    if (!builtin || !SqlWords.SAFE_CAST_TYPES.containsKey(type.name())) {
      note(Reason.UNSAFE_CAST);
    }
  }

  /** A function call; {@code bare} when the name was one unquoted word. */
  void call(SqlName function, boolean bare) {
    functions.add(function);
    boolean builtin = !function.qualified() || function.schema().equals("pg_catalog");
    if (builtin && SqlWords.SEQUENCE_FUNCTIONS.contains(function.name())) {
      note(Reason.SEQUENCE);
    }
    // TRIM(... FROM s) is SQL syntax for btrim, ltrim or rtrim, all alike in volatility.
    SqlName lookup =
        bare && function.name().equals("trim") ? SqlName.unqualified("btrim") : function;
    Optional<Volatility> volatility = catalog.lookup(lookup);
    if (volatility.isEmpty()) {
      note(Reason.UNKNOWN_FUNCTION);
    } else if (volatility.get() == Volatility.VOLATILE) {
      note(Reason.VOLATILE_FUNCTION);
    } else if (volatility.get() == Volatility.STABLE) {
      note(Reason.STABLE_FUNCTION);
    }
  }

  /** A name in FROM-item position; {@code scope} holds the CTE names it may refer to instead. */
  void relation(SqlName name, Set<String> scope) {
    if (!name.qualified() && scope.contains(name.name())) {
      return; // a CTE
    }
    relations.add(name);
    if (name.qualified() && SqlWords.isTempSchema(name.schema())) {
      note(Reason.TEMP_TABLE);
    } else if (name.qualified()
        ? SqlWords.isCatalogSchema(name.schema())
        : name.name().startsWith("pg_")) {
      note(Reason.SYSTEM_CATALOG);
    }
  }

  /** A reason not to cache; kept if it is the first. */
  void note(Reason found) {
    if (reason == null) {
      reason = found;
    }
  }
}
