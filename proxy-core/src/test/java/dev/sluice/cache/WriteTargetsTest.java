package dev.sluice.cache;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** What a statement may change, as the cache's invalidation reads it. */
class WriteTargetsTest {
  private static final FunctionVolatility CATALOG =
      FunctionVolatility.builder()
          .add("pg_catalog", "random", "v")
          .add("pg_catalog", "now", "s")
          .add("pg_catalog", "abs", "i")
          .add("public", "audit_write", "v")
          .add("public", "lookup", "s")
          .build();

  private static final CacheabilityClassifier CLASSIFIER = new CacheabilityClassifier(CATALOG);

  static Stream<Arguments> statements() {
    return Stream.of(
        Arguments.of("SELECT a FROM t", Set.of(), false),
        Arguments.of("SELECT random()", Set.of(), false),
        Arguments.of("SELECT now()", Set.of(), false),
        Arguments.of("INSERT INTO t VALUES (1)", Set.of("t"), false),
        Arguments.of("insert into S.\"Orders\" (a, b) values (1, 2)", Set.of("Orders"), false),
        Arguments.of(
            "INSERT INTO t VALUES (1) ON CONFLICT (a) DO UPDATE SET b = 2", Set.of("t"), false),
        Arguments.of("UPDATE ONLY t SET a = 1 FROM u WHERE t.id = u.id", Set.of("t"), false),
        Arguments.of("DELETE FROM t WHERE a = 1", Set.of("t"), false),
        Arguments.of(
            "MERGE INTO t USING u ON t.id = u.id WHEN MATCHED THEN UPDATE SET a = 1"
                + " WHEN NOT MATCHED THEN INSERT VALUES (1)",
            Set.of("t"),
            false),
        Arguments.of("TRUNCATE a, ONLY b, c *", Set.of("a", "b", "c"), false),
        Arguments.of("TRUNCATE TABLE a", Set.of("a"), false),
        Arguments.of("COPY t FROM STDIN", Set.of("t"), false),
        Arguments.of("COPY t (a, b) FROM STDIN WITH (FORMAT csv)", Set.of("t"), false),
        Arguments.of("COPY t TO STDOUT", Set.of(), false),
        Arguments.of("COPY (SELECT * FROM t) TO STDOUT", Set.of(), false),
        Arguments.of("REFRESH MATERIALIZED VIEW mv", Set.of("mv"), false),
        Arguments.of(
            "WITH x AS (DELETE FROM t RETURNING *) INSERT INTO u SELECT * FROM x",
            Set.of("t", "u"),
            false),
        Arguments.of(
            "WITH x AS (UPDATE t SET a = 1 RETURNING a) SELECT * FROM x", Set.of("t"), false),
        Arguments.of("SELECT * FROM t FOR UPDATE", Set.of(), false),
        Arguments.of("SELECT * FROM t FOR NO KEY UPDATE", Set.of(), false),
        Arguments.of("UPDATE t SET a = 1; DELETE FROM u", Set.of("t", "u"), false),
        Arguments.of("BEGIN", Set.of(), false),
        Arguments.of("SET search_path = x", Set.of(), false),
        Arguments.of("EXPLAIN SELECT 1", Set.of(), false),
        Arguments.of("EXPLAIN ANALYZE DELETE FROM t", Set.of("t"), false),
        // effects that cannot be known from the text: the whole database
        Arguments.of("SELECT audit_write(1)", Set.of(), true),
        Arguments.of("INSERT INTO t SELECT audit_write(a) FROM u", Set.of(), true),
        Arguments.of("SELECT lookup(1)", Set.of(), false),
        Arguments.of("CREATE TABLE n (a int)", Set.of(), true),
        Arguments.of("ALTER TABLE t ADD COLUMN b int", Set.of(), true),
        Arguments.of("DROP TABLE t", Set.of(), true),
        Arguments.of("GRANT SELECT ON t TO r", Set.of(), true),
        Arguments.of("REVOKE SELECT ON t FROM r", Set.of(), true),
        Arguments.of("ALTER POLICY p ON t USING (true)", Set.of(), true),
        Arguments.of("CALL proc()", Set.of(), true),
        Arguments.of("DO $$ BEGIN PERFORM 1; END $$", Set.of(), true),
        Arguments.of("EXECUTE stmt(1)", Set.of(), true),
        Arguments.of("SELECT a INTO newt FROM t", Set.of(), true),
        Arguments.of("VACUUM t", Set.of(), false));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("statements")
  void readsWhatAStatementMayChange(String sql, Set<String> tables, boolean everything) {
    WriteTargets w = CLASSIFIER.facts(sql, true).writes();
    assertThat(w.everything()).as("everything").isEqualTo(everything);
    if (!everything) {
      assertThat(w.tables()).containsExactlyInAnyOrderElementsOf(tables);
    }
  }
}
