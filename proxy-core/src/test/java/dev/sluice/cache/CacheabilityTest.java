package dev.sluice.cache;

import static dev.sluice.cache.Cacheability.Reason.CACHEABLE;
import static dev.sluice.cache.Cacheability.Reason.DATA_MODIFYING_CTE;
import static dev.sluice.cache.Cacheability.Reason.LOCKING_CLAUSE;
import static dev.sluice.cache.Cacheability.Reason.MULTI_STATEMENT;
import static dev.sluice.cache.Cacheability.Reason.NOT_A_QUERY;
import static dev.sluice.cache.Cacheability.Reason.NO_CACHE_HINT;
import static dev.sluice.cache.Cacheability.Reason.PARSE_ERROR;
import static dev.sluice.cache.Cacheability.Reason.SELECT_INTO;
import static dev.sluice.cache.Cacheability.Reason.SEQUENCE;
import static dev.sluice.cache.Cacheability.Reason.SQL_VALUE_FUNCTION;
import static dev.sluice.cache.Cacheability.Reason.STABLE_FUNCTION;
import static dev.sluice.cache.Cacheability.Reason.SYSTEM_CATALOG;
import static dev.sluice.cache.Cacheability.Reason.TABLESAMPLE;
import static dev.sluice.cache.Cacheability.Reason.TEMP_TABLE;
import static dev.sluice.cache.Cacheability.Reason.UNKNOWN_FUNCTION;
import static dev.sluice.cache.Cacheability.Reason.UNSAFE_CAST;
import static dev.sluice.cache.Cacheability.Reason.VOLATILE_FUNCTION;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.cache.Cacheability.Reason;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class CacheabilityTest {
  /** A hand-made catalog: what a backend's pg_proc would say of these names. */
  static final FunctionVolatility CATALOG =
      FunctionVolatility.builder()
          .add("pg_catalog", "abs", Volatility.IMMUTABLE)
          .add("pg_catalog", "lower", Volatility.IMMUTABLE)
          .add("pg_catalog", "upper", Volatility.IMMUTABLE)
          .add("pg_catalog", "length", Volatility.IMMUTABLE)
          .add("pg_catalog", "btrim", Volatility.IMMUTABLE)
          .add("pg_catalog", "substring", Volatility.IMMUTABLE)
          .add("pg_catalog", "count", Volatility.IMMUTABLE)
          .add("pg_catalog", "sum", Volatility.IMMUTABLE)
          .add("pg_catalog", "max", Volatility.IMMUTABLE)
          .add("pg_catalog", "row_number", Volatility.IMMUTABLE)
          .add("pg_catalog", "unnest", Volatility.IMMUTABLE)
          .add("pg_catalog", "jsonb_build_object", Volatility.STABLE)
          .add("pg_catalog", "now", Volatility.STABLE)
          .add("pg_catalog", "date_trunc", Volatility.IMMUTABLE)
          .add("pg_catalog", "date_trunc", Volatility.STABLE)
          .add("pg_catalog", "generate_series", Volatility.IMMUTABLE)
          .add("pg_catalog", "generate_series", Volatility.STABLE)
          .add("pg_catalog", "random", Volatility.VOLATILE)
          .add("pg_catalog", "nextval", Volatility.VOLATILE)
          .add("public", "slugify", Volatility.IMMUTABLE)
          .add("app", "price_with_tax", Volatility.IMMUTABLE)
          .add("app", "audit", Volatility.VOLATILE)
          .add("public", "Weird Name", Volatility.IMMUTABLE)
          .build();

  static Stream<Arguments> statements() {
    return Stream.of(
        // Plain reads.
        c(CACHEABLE, "SELECT 1"),
        c(CACHEABLE, "select * from t where id = $1"),
        c(CACHEABLE, "select * from \"MyTable\" where id = $1"),
        c(CACHEABLE, "SELECT a, b FROM public.orders o WHERE o.id = $1 ORDER BY a LIMIT 10"),
        c(CACHEABLE, "SELECT count(*), max(v) FROM t GROUP BY k HAVING sum(v) > 3"),
        c(CACHEABLE, "VALUES (1, 'a'), (2, 'b')"),
        c(CACHEABLE, "TABLE t"),
        c(CACHEABLE, "  select 1  ;  "),
        c(CACHEABLE, "SELECT 'now()'"),
        c(CACHEABLE, "SELECT $x$ now() $x$"),
        c(CACHEABLE, "SELECT E'it\\'s now()'"),
        c(CACHEABLE, "SELECT 1 -- FOR UPDATE"),
        c(CACHEABLE, "SELECT 1 /* random() /* nested */ nextval('s') */"),
        c(CACHEABLE, "SELECT \"now\" FROM t"),
        c(CACHEABLE, "SELECT $1::int + 1"),
        c(CACHEABLE, "SELECT CAST($1 AS numeric(10, 2)), $2::varchar(20), $3::text[]"),
        c(CACHEABLE, "SELECT x::double precision, y::character varying(3) FROM t"),
        c(CACHEABLE, "SELECT int4 '1', pg_catalog.int8 '2'"),
        c(CACHEABLE, "SELECT lower(name), upper(name), abs(v) FROM t"),
        c(CACHEABLE, "SELECT pg_catalog.lower(name) FROM t"),
        c(CACHEABLE, "SELECT slugify(title), app.price_with_tax(p) FROM t"),
        c(CACHEABLE, "SELECT \"Weird Name\"(x) FROM t"),
        c(CACHEABLE, "SELECT coalesce(a, b), nullif(a, 0), greatest(a, b), least(a, b) FROM t"),
        c(CACHEABLE, "SELECT CASE WHEN a > 0 THEN 'pos' ELSE 'neg' END FROM t"),
        c(CACHEABLE, "SELECT ARRAY[1, 2], ROW(1, 2), a[1] FROM t"),
        c(CACHEABLE, "SELECT * FROM t WHERE id IN ($1, $2) AND EXISTS (SELECT 1 FROM u)"),
        c(CACHEABLE, "SELECT * FROM t WHERE x = ANY ($1) AND y NOT IN (SELECT y FROM u)"),
        c(CACHEABLE, "SELECT * FROM a JOIN b ON a.id = b.a_id LEFT JOIN c USING (id)"),
        c(CACHEABLE, "SELECT * FROM (a NATURAL JOIN b) CROSS JOIN (SELECT 1) s(x)"),
        c(CACHEABLE, "SELECT * FROM t, LATERAL (SELECT * FROM u WHERE u.t = t.id) l"),
        c(CACHEABLE, "SELECT * FROM unnest($1::int[]) WITH ORDINALITY AS u(v, n)"),
        c(CACHEABLE, "WITH x AS (SELECT * FROM t) SELECT * FROM x"),
        c(CACHEABLE, "WITH RECURSIVE r(n) AS (VALUES (1) UNION ALL SELECT n + 1 FROM r) TABLE r"),
        c(CACHEABLE, "SELECT a FROM t UNION SELECT a FROM u EXCEPT (SELECT a FROM v)"),
        c(CACHEABLE, "(SELECT 1) UNION ALL (SELECT 2)"),
        c(CACHEABLE, "SELECT row_number() OVER (PARTITION BY k ORDER BY v) FROM t"),
        c(CACHEABLE, "SELECT count(*) FILTER (WHERE v > 0) FROM t"),
        c(CACHEABLE, "SELECT DISTINCT ON (a) a, b FROM t ORDER BY a, b DESC NULLS LAST"),
        c(CACHEABLE, "SELECT substring(s FROM 1 FOR 2), trim(BOTH 'x' FROM s) FROM t"),
        c(CACHEABLE, "SELECT * FROM t WHERE a IS NOT DISTINCT FROM b"),
        c(CACHEABLE, "SELECT * FROM t WHERE name LIKE 'a%' ESCAPE '!' AND b SIMILAR TO 'x'"),
        c(CACHEABLE, "SELECT 1 AS current_date, 2 AS \"user\", t.user FROM t"),
        c(CACHEABLE, "SELECT * FROM t FETCH FIRST 5 ROWS WITH TIES"),
        c(CACHEABLE, "SELECT * FROM t WHERE a IN (VALUES (1), (2))"),
        c(CACHEABLE, "SELECT U&'d\\0061t\\+000061' UESCAPE '\\', B'101', X'1F'"),
        // Functions.
        c(STABLE_FUNCTION, "SELECT now()"),
        c(STABLE_FUNCTION, "SELECT \"now\"()"),
        c(STABLE_FUNCTION, "SELECT pg_catalog.now()"),
        c(STABLE_FUNCTION, "SELECT date_trunc('day', ts) FROM t"),
        c(STABLE_FUNCTION, "SELECT * FROM generate_series(1, 10) g"),
        c(STABLE_FUNCTION, "SELECT * FROM t WHERE id = (SELECT max(id) FROM u WHERE ts < now())"),
        c(STABLE_FUNCTION, "SELECT * FROM a JOIN b ON b.ts < now()"),
        c(VOLATILE_FUNCTION, "SELECT random()"),
        c(VOLATILE_FUNCTION, "SELECT * FROM t ORDER BY random() LIMIT 1"),
        c(VOLATILE_FUNCTION, "SELECT app.audit(id) FROM t"),
        c(VOLATILE_FUNCTION, "VALUES (1, random())"),
        c(UNKNOWN_FUNCTION, "SELECT my_function(1)"),
        c(UNKNOWN_FUNCTION, "SELECT other.slugify(title) FROM t"),
        c(UNKNOWN_FUNCTION, "SELECT * FROM my_table_function($1) AS f(a int, b text)"),
        c(UNKNOWN_FUNCTION, "SELECT \"LOWER\"(name) FROM t"),
        c(SEQUENCE, "SELECT nextval('s')"),
        c(SEQUENCE, "SELECT pg_catalog.currval('s')"),
        // SQL value functions.
        c(SQL_VALUE_FUNCTION, "SELECT current_date"),
        c(SQL_VALUE_FUNCTION, "SELECT * FROM t WHERE owner = CURRENT_USER"),
        c(SQL_VALUE_FUNCTION, "SELECT current_timestamp(3)"),
        c(SQL_VALUE_FUNCTION, "SELECT localtimestamp, session_user"),
        c(SQL_VALUE_FUNCTION, "SELECT * FROM t WHERE created > current_schema"),
        c(SQL_VALUE_FUNCTION, "SELECT user"),
        c(SQL_VALUE_FUNCTION, "SELECT coalesce(x, current_role) FROM t"),
        // Casts.
        c(UNSAFE_CAST, "SELECT 'now'::timestamptz"),
        c(UNSAFE_CAST, "SELECT * FROM t WHERE d = 'today'::date"),
        c(UNSAFE_CAST, "SELECT DATE 'tomorrow'"),
        c(UNSAFE_CAST, "SELECT TIMESTAMP WITH TIME ZONE 'now'"),
        c(UNSAFE_CAST, "SELECT timestamp(3) 'now'"),
        c(UNSAFE_CAST, "SELECT CAST('now' AS timestamp without time zone)"),
        c(UNSAFE_CAST, "SELECT $1::regclass"),
        c(UNSAFE_CAST, "SELECT x::myschema.mytype FROM t"),
        c(UNSAFE_CAST, "SELECT interval '1 day'"),
        c(CACHEABLE, "SELECT ts AT TIME ZONE 'UTC' FROM t"),
        // Clauses and statement kinds.
        c(LOCKING_CLAUSE, "SELECT * FROM t FOR UPDATE"),
        c(LOCKING_CLAUSE, "SELECT * FROM t WHERE id = 1 FOR NO KEY UPDATE SKIP LOCKED"),
        c(LOCKING_CLAUSE, "SELECT * FROM a JOIN b ON a.id = b.id FOR SHARE OF a"),
        c(TABLESAMPLE, "SELECT * FROM t TABLESAMPLE SYSTEM (10)"),
        c(TABLESAMPLE, "SELECT * FROM t AS x TABLESAMPLE BERNOULLI (5) REPEATABLE (1)"),
        c(SELECT_INTO, "SELECT 1 INTO newtable"),
        c(SELECT_INTO, "SELECT * INTO TEMP t2 FROM t"),
        c(DATA_MODIFYING_CTE, "WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x"),
        c(DATA_MODIFYING_CTE, "WITH a AS (SELECT 1), b AS (INSERT INTO t VALUES (1)) TABLE a"),
        c(DATA_MODIFYING_CTE, "WITH m AS (MERGE INTO t USING s ON true DO NOTHING) SELECT 1"),
        c(DATA_MODIFYING_CTE, "WITH x AS (WITH y AS (UPDATE t SET v = 1) SELECT 1) TABLE x"),
        c(MULTI_STATEMENT, "SELECT 1; SELECT 2"),
        c(NOT_A_QUERY, "INSERT INTO t VALUES (1)"),
        c(NOT_A_QUERY, "UPDATE t SET v = 1"),
        c(NOT_A_QUERY, "WITH x AS (SELECT 1) DELETE FROM t"),
        c(NOT_A_QUERY, "SET search_path TO app"),
        c(NOT_A_QUERY, "EXPLAIN SELECT 1"),
        c(NOT_A_QUERY, "SHOW TimeZone"),
        c(NOT_A_QUERY, "BEGIN"),
        c(NOT_A_QUERY, "CREATE TABLE t (id int)"),
        c(NOT_A_QUERY, "-- nothing but a comment"),
        c(NOT_A_QUERY, "\"select\" 1"),
        // Relations.
        c(SYSTEM_CATALOG, "SELECT * FROM pg_class"),
        c(SYSTEM_CATALOG, "SELECT * FROM pg_catalog.pg_namespace"),
        c(SYSTEM_CATALOG, "SELECT * FROM information_schema.tables"),
        c(SYSTEM_CATALOG, "SELECT * FROM t WHERE x IN (SELECT oid FROM pg_stat_activity)"),
        c(SYSTEM_CATALOG, "TABLE pg_settings"),
        c(CACHEABLE, "SELECT * FROM \"PG_CLASS\""),
        c(TEMP_TABLE, "SELECT * FROM pg_temp.scratch"),
        c(TEMP_TABLE, "SELECT * FROM t JOIN pg_temp_3.scratch s ON s.id = t.id"),
        c(CACHEABLE, "WITH pg_x AS (SELECT 1) SELECT * FROM pg_x"),
        // Hints.
        c(NO_CACHE_HINT, "/* sluice:no-cache */ SELECT 1"),
        c(NO_CACHE_HINT, "-- sluice:no-cache\nSELECT 1"),
        c(NO_CACHE_HINT, "/* sluice:ttl=0 */ SELECT 1"),
        c(CACHEABLE, "SELECT 1 /* sluice:no-cache */"),
        // Parse errors.
        c(PARSE_ERROR, "SELECT 'abc"),
        c(PARSE_ERROR, "SELECT \"abc FROM t"),
        c(PARSE_ERROR, "SELECT $q$ abc"),
        c(PARSE_ERROR, "SELECT 1 /* never closed"),
        c(PARSE_ERROR, "SELECT (1"),
        c(PARSE_ERROR, "SELECT 1)"),
        c(PARSE_ERROR, "SELECT a[1)"),
        c(PARSE_ERROR, "SELECT 1::"),
        c(PARSE_ERROR, "SELECT $ FROM t"),
        c(PARSE_ERROR, "WITH x AS SELECT 1"),
        c(PARSE_ERROR, "WITH x AS (SELECT 1)"));
  }

  private static Arguments c(Reason reason, String sql) {
    return Arguments.of(reason, sql);
  }

  @ParameterizedTest(name = "{0}: {1}")
  @MethodSource("statements")
  void decides(Reason expected, String sql) {
    Cacheability decision = Cacheability.classify(sql, CATALOG);
    assertThat(decision.reason()).as(sql).isEqualTo(expected);
    assertThat(decision.cacheable()).isEqualTo(expected == CACHEABLE);
  }

  @Test
  void relationsAreTheTablesReadAsWrittenWithoutCtes() {
    Cacheability d =
        Cacheability.classify(
            "WITH recent AS (SELECT * FROM app.orders WHERE id > $1)"
                + " SELECT * FROM recent r JOIN \"Customers\" c ON c.id = r.customer_id"
                + " WHERE EXISTS (SELECT 1 FROM db.app.flags f WHERE f.c = c.id)"
                + " AND r.x IN (SELECT x FROM ONLY parts *)",
            CATALOG);
    assertThat(d.cacheable()).isTrue();
    assertThat(d.relations())
        .containsExactly(
            new SqlName("app", "orders"),
            SqlName.unqualified("Customers"),
            new SqlName("app", "flags"),
            SqlName.unqualified("parts"));
  }

  @Test
  void aCteNameDoesNotHideATableOfTheSameNameInsideItsOwnBody() {
    Cacheability d = Cacheability.classify("WITH t AS (SELECT * FROM t) SELECT * FROM t", CATALOG);
    assertThat(d.relations()).containsExactly(SqlName.unqualified("t"));
    Cacheability recursive =
        Cacheability.classify(
            "WITH RECURSIVE t(n) AS (SELECT 1 UNION SELECT n + 1 FROM t) SELECT * FROM t", CATALOG);
    assertThat(recursive.relations()).isEmpty();
  }

  @Test
  void functionsAreTheCallsAsWrittenNotTheKeywords() {
    Cacheability d =
        Cacheability.classify(
            "SELECT lower(a), pg_catalog.upper(b), coalesce(c, 0), CAST(d AS int),"
                + " count(*) FILTER (WHERE e IN (1, 2)) FROM t",
            CATALOG);
    assertThat(d.functions())
        .containsExactly(
            SqlName.unqualified("lower"),
            new SqlName("pg_catalog", "upper"),
            SqlName.unqualified("count"));
  }

  @Test
  void aTtlHintIsReadWhetherOrNotTheStatementIsCacheable() {
    assertThat(Cacheability.classify("/* sluice:ttl=5s */ SELECT 1", CATALOG).ttl())
        .contains(Duration.ofSeconds(5));
    assertThat(Cacheability.classify("/* sluice:ttl=250ms */ SELECT now()", CATALOG).ttl())
        .contains(Duration.ofMillis(250));
    assertThat(Cacheability.classify("/* app */ -- sluice:ttl=2m\n SELECT 1", CATALOG).ttl())
        .contains(Duration.ofMinutes(2));
    assertThat(Cacheability.classify("/* Sluice:TTL=1h, other */ SELECT 1", CATALOG).ttl())
        .contains(Duration.ofHours(1));
    assertThat(Cacheability.classify("/* sluice:ttl=30 */ SELECT 1", CATALOG).ttl())
        .contains(Duration.ofSeconds(30));
  }

  @Test
  void aHintAfterTheFirstTokenOrUnreadableIsIgnored() {
    assertThat(Cacheability.classify("SELECT /* sluice:ttl=5s */ 1", CATALOG).ttl()).isEmpty();
    assertThat(Cacheability.classify("/* sluice:ttl=soon */ SELECT 1", CATALOG).ttl()).isEmpty();
    assertThat(Cacheability.classify("/* sluice:ttl=5d */ SELECT 1", CATALOG).ttl()).isEmpty();
    assertThat(Cacheability.classify("/* ttl=5s */ SELECT 1", CATALOG).ttl()).isEmpty();
  }

  @Test
  void theFirstReasonFoundIsTheOneReported() {
    assertThat(Cacheability.classify("SELECT random(), now()", CATALOG).reason())
        .isEqualTo(VOLATILE_FUNCTION);
    assertThat(Cacheability.classify("SELECT now() FROM pg_class", CATALOG).reason())
        .isEqualTo(STABLE_FUNCTION);
  }

  @Test
  void anEmptyCatalogMakesEveryCallUnknown() {
    FunctionVolatility empty = FunctionVolatility.empty();
    assertThat(Cacheability.classify("SELECT abs(-1)", empty).reason()).isEqualTo(UNKNOWN_FUNCTION);
    assertThat(Cacheability.classify("SELECT 1 + 2", empty).reason()).isEqualTo(CACHEABLE);
  }

  @Test
  void backslashesEscapeInPlainStringsWhenStandardConformingStringsIsOff() {
    // On: a string, a call, a comment. Off: one string that the comment's quote closes.
    String sql = "SELECT 'a\\' AS x, now() AS y -- '";
    assertThat(Cacheability.classify(sql, true, CATALOG).reason()).isEqualTo(STABLE_FUNCTION);
    assertThat(Cacheability.classify(sql, false, CATALOG).reason()).isEqualTo(CACHEABLE);
  }

  @Test
  void theTableCoversEveryReasonButOversized() {
    // the relation catalog's reasons are CacheabilityClassifierTest's
    java.util.Set<Reason> fromCatalog =
        java.util.EnumSet.of(
            Reason.VIEW, Reason.ROW_SECURITY, Reason.FOREIGN_TABLE, Reason.UNKNOWN_RELATION);
    List<Reason> covered = statements().map(a -> (Reason) a.get()[0]).distinct().toList();
    assertThat(covered)
        .containsExactlyInAnyOrder(
            java.util.Arrays.stream(Reason.values())
                .filter(r -> r != Reason.OVERSIZED && !fromCatalog.contains(r))
                .toArray(Reason[]::new));
  }
}
