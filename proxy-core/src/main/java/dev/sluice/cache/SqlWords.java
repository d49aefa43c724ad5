package dev.sluice.cache;

import java.util.Map;
import java.util.Set;

/** The words the cacheability parser must know: keywords, SQL value functions, type names. */
final class SqlWords {
  private SqlWords() {}

  static final Set<String> QUERY_STARTS = Set.of("select", "values", "table", "with");

  static final Set<String> WRITES = Set.of("insert", "update", "delete", "merge");

  /** SQL value functions: keywords that read the clock, the session or the role. */
  static final Set<String> VALUE_FUNCTIONS =
      Set.of(
          "current_date",
          "current_time",
          "current_timestamp",
          "localtime",
          "localtimestamp",
          "current_user",
          "session_user",
          "user",
          "system_user",
          "current_role",
          "current_schema",
          "current_catalog");

  /**
   * Words that a {@code (} may follow without a function call: keywords that open a subquery, a
   * list or a clause, and the conditional expressions PostgreSQL implements without {@code pg_proc}
   * ({@code COALESCE}, {@code NULLIF}, {@code GREATEST}, {@code LEAST}), which are immutable.
   */
  static final Set<String> NOT_CALLS =
      Set.of(
          "all",
          "and",
          "any",
          "array",
          "as",
          "asymmetric",
          "between",
          "by",
          "case",
          "coalesce",
          "cross",
          "cube",
          "default",
          "distinct",
          "else",
          "end",
          "escape",
          "except",
          "exists",
          "fetch",
          "filter",
          "first",
          "for",
          "from",
          "full",
          "greatest",
          "group",
          "grouping",
          "having",
          "ilike",
          "in",
          "inner",
          "intersect",
          "into",
          "is",
          "isnull",
          "join",
          "lateral",
          "least",
          "like",
          "limit",
          "materialized",
          "natural",
          "not",
          "notnull",
          "nullif",
          "offset",
          "on",
          "only",
          "operator",
          "or",
          "order",
          "outer",
          "over",
          "overlaps",
          "partition",
          "repeatable",
          "returning",
          "rollup",
          "row",
          "select",
          "sets",
          "similar",
          "some",
          "symmetric",
          "table",
          "tablesample",
          "then",
          "to",
          "union",
          "using",
          "values",
          "when",
          "where",
          "window",
          "with",
          "within");

  /** Keywords that a string literal may follow without making it a typed literal. */
  static final Set<String> BEFORE_STRINGS =
      Set.of(
          "all",
          "and",
          "any",
          "as",
          "asymmetric",
          "between",
          "both",
          "by",
          "case",
          "distinct",
          "else",
          "escape",
          "except",
          "fetch",
          "first",
          "from",
          "having",
          "ilike",
          "in",
          "intersect",
          "is",
          "leading",
          "like",
          "limit",
          "not",
          "offset",
          "on",
          "or",
          "placing",
          "returning",
          "select",
          "similar",
          "some",
          "symmetric",
          "then",
          "to",
          "trailing",
          "union",
          "uescape",
          "using",
          "values",
          "when",
          "where");

  /** Keywords that end a FROM list. */
  static final Set<String> FROM_ENDS =
      Set.of(
          "where",
          "group",
          "having",
          "window",
          "order",
          "limit",
          "offset",
          "fetch",
          "for",
          "union",
          "intersect",
          "except",
          "into",
          "returning");

  static final Set<String> JOINS =
      Set.of("join", "inner", "left", "right", "full", "outer", "cross", "natural");

  /** Types whose name may continue with more words: {@code double precision}, {@code ...}. */
  static final Set<String> MULTIWORD_TYPES =
      Set.of("double", "character", "char", "national", "bit", "time", "timestamp", "interval");

  static final Set<String> TYPE_CONTINUATIONS =
      Set.of(
          "precision",
          "varying",
          "character",
          "with",
          "without",
          "time",
          "zone",
          "year",
          "month",
          "day",
          "hour",
          "minute",
          "second",
          "to");

  /**
   * Date and time types that take a precision, so that {@code TIMESTAMP(3) '...'} is a typed
   * literal, not a call. Their input reads the clock for {@code 'now'}, {@code 'today'} and the
   * like, so they are not in {@link #SAFE_CAST_TYPES} either.
   */
  static final Set<String> DATETIME_PRECISION_TYPES = Set.of("time", "timestamp", "interval");

  /**
   * Types a cast may target while the statement stays cacheable, by the names SQL accepts, mapped
   * to their {@code pg_type.typname}. Each one's input function is IMMUTABLE (a test checks this
   * against a real server); arrays of them count as safe too, though {@code array_in} is marked
   * STABLE only because some element type's input may be.
   */
  static final Map<String, String> SAFE_CAST_TYPES =
      Map.ofEntries(
          Map.entry("bool", "bool"),
          Map.entry("boolean", "bool"),
          Map.entry("int2", "int2"),
          Map.entry("smallint", "int2"),
          Map.entry("int4", "int4"),
          Map.entry("int", "int4"),
          Map.entry("integer", "int4"),
          Map.entry("int8", "int8"),
          Map.entry("bigint", "int8"),
          Map.entry("numeric", "numeric"),
          Map.entry("decimal", "numeric"),
          Map.entry("real", "float4"),
          Map.entry("float4", "float4"),
          Map.entry("float8", "float8"),
          Map.entry("float", "float8"),
          Map.entry("double", "float8"),
          Map.entry("text", "text"),
          Map.entry("varchar", "varchar"),
          Map.entry("character", "bpchar"),
          Map.entry("char", "bpchar"),
          Map.entry("bpchar", "bpchar"),
          Map.entry("name", "name"),
          Map.entry("bytea", "bytea"),
          Map.entry("uuid", "uuid"),
          Map.entry("json", "json"),
          Map.entry("jsonb", "jsonb"),
          Map.entry("bit", "bit"),
          Map.entry("varbit", "varbit"),
          Map.entry("inet", "inet"),
          Map.entry("cidr", "cidr"));

  /** Functions that read or advance a sequence. */
  static final Set<String> SEQUENCE_FUNCTIONS = Set.of("nextval", "currval", "setval", "lastval");

  /** {@code pg_temp} or a backend's own {@code pg_temp_N}. */
  static boolean isTempSchema(String schema) {
    if (schema.equals("pg_temp")) {
      return true;
    }
    if (!schema.startsWith("pg_temp_") || schema.length() == "pg_temp_".length()) {
      return false;
    }
    return schema.substring("pg_temp_".length()).chars().allMatch(Character::isDigit);
  }

  /** {@code pg_catalog}, {@code information_schema}, and the other {@code pg_*} schemas. */
  static boolean isCatalogSchema(String schema) {
    return schema.equals("information_schema") || schema.startsWith("pg_");
  }
}
