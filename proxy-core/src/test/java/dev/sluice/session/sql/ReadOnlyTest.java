package dev.sluice.session.sql;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ReadOnlyTest {
  @ParameterizedTest
  @ValueSource(
      strings = {
        "SELECT 1",
        "select * from t where id = $1",
        "SELECT count(*), max(v) FROM t",
        "SELECT aid, abalance FROM pgbench_accounts WHERE aid = $1",
        "VALUES (1), (2)",
        "TABLE t",
        "SHOW search_path",
        "SELECT now(), coalesce(a, 0)::numeric(10, 2) FROM t -- FOR UPDATE in a comment",
        "SELECT 'for update', 'insert into t'",
        "  select 1  ;  "
      })
  void plainReadsAreReadOnly(String sql) {
    assertThat(ReadOnly.test(sql)).isTrue();
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "INSERT INTO t VALUES (1)",
        "UPDATE t SET v = 1",
        "SELECT nextval('s')",
        "SELECT my_function(1)",
        "SELECT \"count\"(x) FROM t",
        "SELECT * FROM t FOR UPDATE",
        "SELECT * FROM t FOR SHARE",
        "SELECT 1 INTO newtable",
        "WITH gone AS (DELETE FROM t RETURNING *) SELECT * FROM gone",
        "SELECT 1; SELECT 2",
        "BEGIN",
        "SELECT pg_advisory_lock(1)",
        ""
      })
  void anythingElseIsNot(String sql) {
    assertThat(ReadOnly.test(sql)).isFalse();
  }
}
