package dev.sluice.session.sql;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.session.sql.Effect.Deallocate;
import dev.sluice.session.sql.Effect.DiscardAll;
import dev.sluice.session.sql.Effect.Pin;
import dev.sluice.session.sql.Effect.ResetAll;
import dev.sluice.session.sql.Effect.TrackedSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class SessionStateClassifierTest {
  private static final Set<String> TRACKED =
      Set.of(
          "application_name",
          "timezone",
          "datestyle",
          "client_encoding",
          "intervalstyle",
          "xmloption",
          "statement_timeout");

  private static List<Effect> effects(String sql) {
    return SessionStateClassifier.classify(sql, TRACKED).effects();
  }

  private static List<Effect> effects(String sql, Set<String> tracked) {
    return SessionStateClassifier.classify(sql, tracked).effects();
  }

  private static Pin pin(String reason) {
    return new Pin(reason);
  }

  private static TrackedSet tracked(String name) {
    return new TrackedSet(name);
  }

  @Nested
  class SetAndReset {
    @ParameterizedTest
    @ValueSource(
        strings = {
          "SET application_name = 'x'",
          "SET application_name TO x",
          "Set Application_Name To 'x'",
          "SET SESSION application_name = 'x'",
          "set session APPLICATION_NAME to default",
          "SET application_name FROM CURRENT",
          "SET \"application_name\" = 'x'",
          "SET \"Application_Name\" = 'x'",
          "RESET application_name",
        })
    void aTrackedSettingIsReplayedNotPinned(String sql) {
      assertThat(effects(sql)).containsExactly(tracked("application_name"));
    }

    @Test
    void anUntrackedSettingPinsAndTheReasonNamesTheSettingNotTheValue() {
      assertThat(effects("SET search_path TO 'secret_schema'"))
          .containsExactly(pin("SET search_path"));
      assertThat(effects("SET myapp.tenant_id = 'secret'"))
          .containsExactly(pin("SET myapp.tenant_id"));
      assertThat(effects("RESET search_path")).containsExactly(pin("RESET search_path"));
      assertThat(effects("SET \"search_path\" = x")).containsExactly(pin("SET search_path"));
    }

    @Test
    void sessionAndLocalAreScopeWordsOnlyWhenNoNameFollowsThem() {
      assertThat(effects("SET session.tenant = 1")).containsExactly(pin("SET session.tenant"));
      assertThat(effects("SET LOCAL.tenant TO 1")).containsExactly(pin("SET local.tenant"));
      assertThat(effects("SET SESSION session.tenant = 1"))
          .containsExactly(pin("SET session.tenant"));
      assertThat(effects("SET LOCAL session.tenant = 1")).isEmpty();
      assertThat(effects("RESET session.tenant")).containsExactly(pin("RESET session.tenant"));
    }

    @Test
    void aNameThatCannotBeASettingStaysOutOfTheReason() {
      assertThat(effects("SET \"x; secret\" = 1")).containsExactly(pin("SET"));
    }

    @ParameterizedTest
    @ValueSource(
        strings = {
          "SET/**/search_path TO x",
          "SET -- comment\n search_path\n=\n x",
          "/* lead */ SET /* a */ search_path /* b */ TO /* c */ x",
          "sEt SeArCh_PaTh = x",
          "SET search_path TO x, \"$user\", public",
        })
    void commentsAndCaseDoNotHideASet(String sql) {
      assertThat(effects(sql)).containsExactly(pin("SET search_path"));
    }

    @ParameterizedTest
    @ValueSource(
        strings = {
          "SET LOCAL search_path TO x",
          "set local application_name = 'x'",
          "SET LOCAL ROLE admin",
          "SET LOCAL role = admin",
          "SET LOCAL SESSION AUTHORIZATION bob",
          "SET LOCAL TIME ZONE 'UTC'",
          "SET LOCAL SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
          "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE",
          "SET SESSION TRANSACTION READ ONLY",
          "SET TRANSACTION SNAPSHOT '00000003-0000001B-1'",
          "SET CONSTRAINTS ALL DEFERRED",
          "RESET TRANSACTION ISOLATION LEVEL",
          "SET",
          "SET LOCAL",
          "RESET",
        })
    void transactionScopedOrIncompleteSetsLeaveNothing(String sql) {
      assertThat(effects(sql)).isEmpty();
    }

    @Test
    void roleAndSessionAuthorizationPin() {
      assertThat(effects("SET ROLE admin")).containsExactly(pin("SET ROLE"));
      assertThat(effects("SET SESSION ROLE admin")).containsExactly(pin("SET ROLE"));
      assertThat(effects("set role = 'admin'")).containsExactly(pin("SET ROLE"));
      assertThat(effects("SET ROLE NONE")).containsExactly(pin("SET ROLE"));
      assertThat(effects("RESET ROLE")).containsExactly(pin("RESET ROLE"));
      assertThat(effects("SET SESSION AUTHORIZATION bob"))
          .containsExactly(pin("SET SESSION AUTHORIZATION"));
      assertThat(effects("SET SESSION SESSION AUTHORIZATION DEFAULT"))
          .containsExactly(pin("SET SESSION AUTHORIZATION"));
      assertThat(effects("SET session_authorization = bob"))
          .containsExactly(pin("SET SESSION AUTHORIZATION"));
      assertThat(effects("RESET SESSION AUTHORIZATION"))
          .containsExactly(pin("RESET SESSION AUTHORIZATION"));
    }

    @Test
    void roleIsNeverTrackedEvenIfListed() {
      Set<String> withRole = Set.of("role", "session_authorization");
      assertThat(effects("SET ROLE admin", withRole)).containsExactly(pin("SET ROLE"));
      assertThat(effects("SELECT set_config('role', 'admin', false)", withRole))
          .containsExactly(pin("set_config(..., false)"));
    }

    @Test
    void sessionCharacteristicsPin() {
      assertThat(effects("SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL SERIALIZABLE"))
          .containsExactly(pin("SET SESSION CHARACTERISTICS"));
    }

    @Test
    void specialSyntaxMeansItsSetting() {
      assertThat(effects("SET TIME ZONE 'UTC'")).containsExactly(tracked("timezone"));
      assertThat(effects("SET SESSION TIME ZONE LOCAL")).containsExactly(tracked("timezone"));
      assertThat(effects("RESET TIME ZONE")).containsExactly(tracked("timezone"));
      assertThat(effects("SET NAMES 'UTF8'")).containsExactly(tracked("client_encoding"));
      assertThat(effects("SET XML OPTION DOCUMENT")).containsExactly(tracked("xmloption"));
      assertThat(effects("SET SCHEMA 'app'")).containsExactly(pin("SET search_path"));
      assertThat(effects("SET SCHEMA 'app'", Set.of("search_path")))
          .containsExactly(tracked("search_path"));
      assertThat(effects("SET TIME ZONE 'UTC'", Set.of())).containsExactly(pin("SET timezone"));
    }

    @Test
    void resetAll() {
      assertThat(effects("RESET ALL")).containsExactly(new ResetAll());
      assertThat(effects("reset all;")).containsExactly(new ResetAll());
    }
  }

  @Nested
  class SetConfig {
    @Test
    void pgDumpsSearchPathLinePins() {
      String pgDump = "SELECT pg_catalog.set_config('search_path', '', false);";
      assertThat(effects(pgDump)).containsExactly(pin("set_config(..., false)"));
      assertThat(effects(pgDump, Set.of("search_path"))).containsExactly(tracked("search_path"));
    }

    @ParameterizedTest
    @ValueSource(
        strings = {
          "true",
          "TRUE",
          "'true'",
          "'t'",
          "'on'",
          "'yes'",
          "'1'",
          "1",
          "true::boolean",
          "'on'::pg_catalog.bool",
          "' TRUE '",
          "E'\\x74'",
        })
    void aLiteralTrueIsLocalLeavesNothing(String isLocal) {
      assertThat(effects("SELECT set_config('search_path', 'x', " + isLocal + ")")).isEmpty();
      assertThat(effects("SELECT set_config('application_name', 'x', " + isLocal + ")")).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(
        strings = {
          "false",
          "'f'",
          "'off'",
          "$3",
          "(true)",
          "NOT false",
          "'tru'",
          "\"true\"",
          "current_setting('x')::bool",
          "true AND true",
          "-1",
        })
    void anythingElseIsSessionLevel(String isLocal) {
      assertThat(effects("SELECT set_config('search_path', 'x', " + isLocal + ")"))
          .containsExactly(pin("set_config(..., false)"));
      assertThat(effects("SELECT set_config('application_name', 'x', " + isLocal + ")"))
          .containsExactly(tracked("application_name"));
    }

    @Test
    void aMissingThirdArgumentIsSessionLevel() {
      assertThat(effects("SELECT set_config('search_path', 'x')"))
          .containsExactly(pin("set_config(..., false)"));
      assertThat(effects("SELECT set_config()")).containsExactly(pin("set_config(..., false)"));
    }

    @Test
    void theNameMustBeALiteralToBeTracked() {
      for (String name :
          List.of("$1", "'application' || '_name'", "name", "lower('APPLICATION_NAME')")) {
        assertThat(effects("SELECT set_config(" + name + ", 'x', false)"))
            .as(name)
            .containsExactly(pin("set_config(..., false)"));
      }
      assertThat(effects("SELECT set_config('Application_Name'::text, 'x', false)"))
          .containsExactly(tracked("application_name"));
      assertThat(effects("SELECT set_config(E'application\\x5fname', 'x', false)"))
          .containsExactly(tracked("application_name"));
      assertThat(effects("SELECT set_config($n$application_name$n$, 'x', false)"))
          .containsExactly(tracked("application_name"));
    }

    @ParameterizedTest
    @ValueSource(
        strings = {
          "SELECT 1 FROM t WHERE set_config('a.b', 'c', false) IS NOT NULL",
          "INSERT INTO t VALUES (set_config('a.b', 'c', false))",
          "SELECT * FROM set_config('a.b', 'c', false)",
          "SELECT \"set_config\"('a.b', 'c', false)",
          "SELECT U&\"set\\005fconfig\"('a.b', 'c', false)",
          "SELECT pg_catalog . /* c */ set_config /* c */ ('a.b', 'c', false)",
          "SELECT SET_CONFIG('a.b', 'c', false)",
          "SELECT myschema.set_config('a.b', 'c', false)",
          "WITH x AS (SELECT set_config('a.b', 'c', false)) SELECT * FROM x",
          "COPY (SELECT set_config('a.b', 'c', false)) TO STDOUT",
          "SELECT set_config('a.b', 'c', false",
        })
    void callsCountAnywhereInAStatement(String sql) {
      assertThat(effects(sql)).containsExactly(pin("set_config(..., false)"));
    }

    @ParameterizedTest
    @ValueSource(
        strings = {
          "SELECT \"SET_CONFIG\"('a.b', 'c', false)",
          "SELECT set_config FROM t",
          "SELECT 'set_config(''a.b'', ''c'', false)'",
          "SELECT 1 -- set_config('a.b', 'c', false)",
          "SELECT current_setting('search_path')",
        })
    void somethingThatIsNotACallOfSetConfigLeavesNothing(String sql) {
      assertThat(effects(sql)).isEmpty();
    }

    @Test
    void nestedCallsAndNestedCommasAreReadAtTheirOwnDepth() {
      assertThat(effects("SELECT set_config('a.b', set_config('c.d', 'e', false), true)"))
          .containsExactly(pin("set_config(..., false)"));
      assertThat(effects("SELECT set_config('application_name', ARRAY['x','y']::text, false)"))
          .containsExactly(tracked("application_name"));
      assertThat(effects("SELECT set_config('search_path', f(1, 2, 3), true)")).isEmpty();
      assertThat(effects("SELECT set_config('search_path', (SELECT 'a, b'), 'on')")).isEmpty();
    }

    @Test
    void effectsOfCallsKeepSourceOrder() {
      assertThat(effects("SELECT pg_advisory_lock(1), set_config('application_name', 'x', false)"))
          .containsExactly(pin("pg_advisory_lock()"), tracked("application_name"));
      assertThat(effects("SELECT set_config('application_name', 'x', false), pg_advisory_lock(1)"))
          .containsExactly(tracked("application_name"), pin("pg_advisory_lock()"));
    }
  }

  @Nested
  class AdvisoryLocks {
    @ParameterizedTest
    @ValueSource(
        strings = {
          "pg_advisory_lock",
          "pg_advisory_lock_shared",
          "pg_try_advisory_lock",
          "pg_try_advisory_lock_shared"
        })
    void sessionLevelLocksPinNamingTheFunction(String function) {
      assertThat(effects("SELECT " + function + "(1)")).containsExactly(pin(function + "()"));
      assertThat(effects("select PG_CATALOG." + function.toUpperCase() + " (1, 2)"))
          .containsExactly(pin(function + "()"));
      assertThat(effects("SELECT x FROM t WHERE " + function + "(t.id)"))
          .containsExactly(pin(function + "()"));
    }

    @ParameterizedTest
    @ValueSource(
        strings = {
          "SELECT pg_advisory_xact_lock(1)",
          "SELECT pg_try_advisory_xact_lock_shared(1)",
          "SELECT pg_advisory_unlock(1)",
          "SELECT pg_advisory_unlock_all()",
          "SELECT 'pg_advisory_lock(1)'",
          "SELECT pg_advisory_lock FROM t",
          "/* pg_advisory_lock(1) */ SELECT 1",
          "SELECT \"PG_ADVISORY_LOCK\"(1)",
        })
    void transactionLocksUnlocksAndMentionsLeaveNothing(String sql) {
      assertThat(effects(sql)).isEmpty();
    }
  }

  @Nested
  class SessionCommands {
    @Test
    void listenPinsUnlistenDoesNot() {
      assertThat(effects("LISTEN jobs")).containsExactly(pin("LISTEN"));
      assertThat(effects("listen \"Jobs\"")).containsExactly(pin("LISTEN"));
      assertThat(effects("UNLISTEN *")).isEmpty();
      assertThat(effects("NOTIFY jobs, 'x'")).isEmpty();
      assertThat(effects("LISTEN")).isEmpty();
    }

    @Test
    void loadPins() {
      assertThat(effects("LOAD 'auto_explain'")).containsExactly(pin("LOAD"));
    }

    @Test
    void preparePinsAndItsBodyDoesNotRunYet() {
      assertThat(effects("PREPARE q (int) AS SELECT $1")).containsExactly(pin("PREPARE"));
      assertThat(effects("prepare q as select set_config('a.b', 'c', false)"))
          .containsExactly(pin("PREPARE"));
      assertThat(effects("PREPARE transaction AS SELECT 1")).containsExactly(pin("PREPARE"));
      assertThat(effects("PREPARE TRANSACTION 'gid-1'")).isEmpty();
      assertThat(effects("COMMIT PREPARED 'gid-1'")).isEmpty();
      assertThat(effects("EXECUTE q(1)")).isEmpty();
    }

    @Test
    void declareWithHoldPins() {
      assertThat(effects("DECLARE c CURSOR WITH HOLD FOR SELECT 1"))
          .containsExactly(pin("DECLARE ... WITH HOLD"));
      assertThat(effects("declare c binary insensitive no scroll cursor with hold for select 1"))
          .containsExactly(pin("DECLARE ... WITH HOLD"));
      assertThat(effects("DECLARE c CURSOR FOR SELECT 1")).isEmpty();
      assertThat(effects("DECLARE c CURSOR WITHOUT HOLD FOR SELECT 1")).isEmpty();
      assertThat(effects("DECLARE c CURSOR FOR WITH hold AS (SELECT 1) SELECT * FROM hold"))
          .isEmpty();
    }

    @Test
    void deallocate() {
      assertThat(effects("DEALLOCATE q")).containsExactly(new Deallocate("q"));
      assertThat(effects("DEALLOCATE PREPARE Q")).containsExactly(new Deallocate("q"));
      assertThat(effects("DEALLOCATE \"MyStmt\"")).containsExactly(new Deallocate("MyStmt"));
      assertThat(effects("DEALLOCATE ALL")).containsExactly(Deallocate.all());
      assertThat(effects("deallocate prepare all")).containsExactly(new Deallocate(null));
      assertThat(effects("DEALLOCATE \"all\"")).containsExactly(new Deallocate("all"));
      assertThat(effects("DEALLOCATE prepare")).containsExactly(new Deallocate("prepare"));
      assertThat(effects("DEALLOCATE")).isEmpty();
      assertThat(Deallocate.all().isAll()).isTrue();
    }

    @Test
    void discardAllOnly() {
      assertThat(effects("DISCARD ALL")).containsExactly(new DiscardAll());
      for (String what : List.of("PLANS", "SEQUENCES", "TEMP", "TEMPORARY")) {
        assertThat(effects("DISCARD " + what)).as(what).isEmpty();
      }
    }

    @Test
    void updatingPgSettingsIsSetConfigInDisguise() {
      assertThat(effects("UPDATE pg_settings SET setting = 'x' WHERE name = 'search_path'"))
          .containsExactly(pin("UPDATE pg_settings"));
      assertThat(effects("update only pg_catalog.pg_settings set setting = 'x'"))
          .containsExactly(pin("UPDATE pg_settings"));
      assertThat(effects("WITH u AS (UPDATE \"pg_settings\" SET setting = 'x') SELECT 1"))
          .containsExactly(pin("UPDATE pg_settings"));
      assertThat(effects("UPDATE settings SET setting = 'x'")).isEmpty();
      assertThat(effects("UPDATE myschema.pg_settings SET setting = 'x'")).isEmpty();
      assertThat(effects("SELECT * FROM pg_settings")).isEmpty();
    }
  }

  @Nested
  class Temporary {
    @ParameterizedTest
    @ValueSource(
        strings = {
          "CREATE TEMP TABLE t (a int)",
          "create temporary table t (a int)",
          "CREATE GLOBAL TEMPORARY TABLE t (a int)",
          "CREATE LOCAL TEMP TABLE IF NOT EXISTS t (a int)",
          "CREATE TEMP TABLE t (a int) ON COMMIT DELETE ROWS",
          "CREATE TEMP TABLE t (a int) ON COMMIT PRESERVE ROWS",
          "CREATE TEMP TABLE t AS SELECT 1",
          "CREATE TEMP TABLE t AS SELECT 1 AS on_commit_drop",
        })
    void temporaryTablesPin(String sql) {
      assertThat(effects(sql)).containsExactly(pin("CREATE TEMP TABLE"));
    }

    @Test
    void otherTemporaryObjectsPin() {
      assertThat(effects("CREATE TEMP VIEW v AS SELECT 1"))
          .containsExactly(pin("CREATE TEMP VIEW"));
      assertThat(effects("CREATE OR REPLACE TEMP RECURSIVE VIEW v(n) AS SELECT 1"))
          .containsExactly(pin("CREATE TEMP VIEW"));
      assertThat(effects("CREATE TEMPORARY SEQUENCE s"))
          .containsExactly(pin("CREATE TEMP SEQUENCE"));
      assertThat(effects("CREATE TABLE pg_temp.t (a int)"))
          .containsExactly(pin("CREATE in pg_temp"));
      assertThat(effects("CREATE FUNCTION pg_temp.f() RETURNS int AS $$ SELECT 1 $$ LANGUAGE sql"))
          .containsExactly(pin("CREATE in pg_temp"));
    }

    @ParameterizedTest
    @ValueSource(
        strings = {
          "CREATE TEMP TABLE t (a int) ON COMMIT DROP",
          "create temporary table t (a int, b text default 'as') on commit drop",
          "CREATE TEMP TABLE t ON COMMIT DROP AS SELECT 1",
          "CREATE TABLE temp (a int)",
          "CREATE UNLOGGED TABLE t (a int)",
          "CREATE TABLE t AS SELECT 'CREATE TEMP TABLE x'",
        })
    void tablesThatEndWithTheTransactionOrAreNotTemporaryLeaveNothing(String sql) {
      assertThat(effects(sql)).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(
        strings = {
          "SELECT * INTO TEMP t FROM x",
          "SELECT a, b INTO TEMPORARY TABLE t FROM x",
          "SELECT 1 INTO LOCAL TEMP t",
          "SELECT 1 INTO pg_temp.t",
          "SELECT 1 INTO UNLOGGED TABLE pg_temp.t",
          "WITH w AS (SELECT 1) SELECT * INTO TEMP t FROM w",
          "SELECT insert INTO TEMP t FROM (SELECT 1 AS insert) s",
          "SELECT \"insert\" INTO TEMP t FROM (SELECT 1 AS \"insert\") s",
        })
    void selectIntoTempPins(String sql) {
      assertThat(effects(sql)).containsExactly(pin("SELECT INTO TEMP"));
    }

    @ParameterizedTest
    @ValueSource(
        strings = {
          "SELECT * INTO t FROM x",
          "INSERT INTO temp VALUES (1)",
          "INSERT INTO pg_temp.t VALUES (1)",
          "MERGE INTO temp t USING s ON t.id = s.id WHEN MATCHED THEN DELETE",
          "SELECT 'INTO TEMP'",
        })
    void otherIntosLeaveNothing(String sql) {
      assertThat(effects(sql)).isEmpty();
    }
  }

  @Nested
  class Explain {
    @ParameterizedTest
    @ValueSource(
        strings = {
          "EXPLAIN SELECT pg_advisory_lock(1)",
          "EXPLAIN VERBOSE SELECT pg_advisory_lock(1)",
          "EXPLAIN (FORMAT json) SELECT * INTO TEMP t FROM x",
          "EXPLAIN (ANALYZE false) SELECT pg_advisory_lock(1)",
          "EXPLAIN (analyze off, costs on) CREATE TEMP TABLE t AS SELECT 1",
          "EXPLAIN (ANALYZE 0) SELECT set_config('a.b', 'c', false)",
          "EXPLAIN (ANALYZE \"false\") SELECT pg_advisory_lock(1)",
          "EXPLAIN ANALYZE EXECUTE q",
        })
    void withoutAnalyzeNothingRuns(String sql) {
      assertThat(effects(sql)).isEmpty();
    }

    @Test
    void analyzeRunsTheStatement() {
      assertThat(effects("EXPLAIN ANALYZE SELECT pg_advisory_lock(1)"))
          .containsExactly(pin("pg_advisory_lock()"));
      assertThat(effects("explain analyse verbose select set_config('a.b', 'c', false)"))
          .containsExactly(pin("set_config(..., false)"));
      assertThat(effects("EXPLAIN (ANALYZE, BUFFERS) CREATE TEMP TABLE t AS SELECT 1"))
          .containsExactly(pin("CREATE TEMP TABLE"));
      assertThat(effects("EXPLAIN (COSTS off, ANALYZE true) SELECT 1 INTO TEMP t"))
          .containsExactly(pin("SELECT INTO TEMP"));
      assertThat(effects("EXPLAIN (\"analyze\") SELECT pg_advisory_lock(1)"))
          .containsExactly(pin("pg_advisory_lock()"));
      assertThat(effects("EXPLAIN (ANALYZE 'yes') SELECT pg_advisory_lock(1)"))
          .containsExactly(pin("pg_advisory_lock()"));
    }
  }

  @Nested
  class Definitions {
    @ParameterizedTest
    @ValueSource(
        strings = {
          "CREATE FUNCTION f() RETURNS void LANGUAGE sql"
              + " BEGIN ATOMIC SELECT pg_advisory_lock(1); SELECT set_config('a.b', 'c', false); END",
          "CREATE OR REPLACE VIEW v AS SELECT set_config('a.b', 'c', false)",
          "CREATE FUNCTION f() RETURNS void SET search_path = x AS $$ SET ROLE y $$ LANGUAGE sql",
          "GRANT EXECUTE ON FUNCTION pg_advisory_lock(bigint) TO app",
          "REVOKE EXECUTE ON FUNCTION pg_catalog.set_config(text, text, boolean) FROM PUBLIC",
          "COMMENT ON FUNCTION pg_try_advisory_lock(bigint) IS 'x'",
          "ALTER ROLE app SET search_path = x",
          "ALTER DATABASE db SET timezone = 'UTC'",
        })
    void definingOrNamingCodeDoesNotRunIt(String sql) {
      assertThat(effects(sql)).isEmpty();
    }

    @Test
    void alterCanRunExpressions() {
      assertThat(effects("ALTER TABLE t ADD COLUMN c int DEFAULT pg_advisory_lock(1)"))
          .containsExactly(pin("pg_advisory_lock()"));
    }
  }

  @Nested
  class Literals {
    @ParameterizedTest
    @ValueSource(
        strings = {
          "SELECT 'SET ROLE admin'",
          "SELECT 'it''s; SET ROLE admin; --'",
          "SELECT $$; SET ROLE admin; LISTEN x$$",
          "SELECT $f$ ; LISTEN x; $$ $f$",
          "SELECT E'\\'; SET ROLE x; --'",
          "SELECT e'\\\\'",
          "/* SET ROLE admin */ SELECT 1",
          "/* nested /* */ SET ROLE admin; */ SELECT 1",
          "-- LISTEN x\nSELECT 1",
          "SELECT \"LISTEN\", \"SET\" FROM t",
          "DO $$ BEGIN LISTEN x; PERFORM pg_advisory_lock(1); SET ROLE y; END $$",
          "DO 'BEGIN LISTEN x; END'",
          "CREATE FUNCTION f() RETURNS void AS $body$ SET search_path = x; $body$ LANGUAGE sql",
          "COMMENT ON TABLE t IS 'LISTEN x; SET ROLE y'",
          "SELECT U&'\\0041; SET ROLE x' UESCAPE '!'",
          "SELECT 'a'\n'; SET ROLE x'",
        })
    void wordsInLiteralsAndCommentsNeverCount(String sql) {
      assertThat(effects(sql)).isEmpty();
    }

    @Test
    void standardConformingStringsDecidesWhereAStringEnds() {
      String sql = "SELECT 'a\\'; SET ROLE x; --'";
      assertThat(SessionStateClassifier.classify(sql, TRACKED).effects())
          .containsExactly(pin("SET ROLE"));
      assertThat(SessionStateClassifier.classify(sql, TRACKED, false).effects()).isEmpty();
    }
  }

  @Nested
  class Statements {
    @Test
    void eachStatementYieldsItsEffectsInOrder() {
      String sql =
          "SET application_name = 'a'; LISTEN x; SELECT pg_advisory_lock(1);"
              + " RESET ALL; DISCARD ALL; DEALLOCATE q; SELECT 1";
      assertThat(effects(sql))
          .containsExactly(
              tracked("application_name"),
              pin("LISTEN"),
              pin("pg_advisory_lock()"),
              new ResetAll(),
              new DiscardAll(),
              new Deallocate("q"));
    }

    @Test
    void dollarQuotesHoldSemicolonsAndKeywordsWithinOneStatement() {
      assertThat(effects("SELECT $x$;LISTEN a;$x$; LISTEN b")).containsExactly(pin("LISTEN"));
    }

    @Test
    void stateDoesNotLeakAcrossStatements() {
      assertThat(effects("INSERT INTO t VALUES (1); SELECT 1 INTO TEMP x"))
          .containsExactly(pin("SELECT INTO TEMP"));
      assertThat(effects("SELECT 1 INTO; TEMP")).isEmpty();
      assertThat(effects("SELECT pg_advisory_lock; (1)")).isEmpty();
    }

    @Test
    void anAtomicBodyDoesNotHideTheNextStatement() {
      String sql =
          "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC"
              + " SELECT CASE WHEN true THEN 1 END; SELECT 2; END; SET ROLE x";
      assertThat(effects(sql)).containsExactly(pin("SET ROLE"));
      assertThat(effects("CREATE FUNCTION begin() RETURNS int AS $$ SELECT 1 $$; SET ROLE x"))
          .containsExactly(pin("SET ROLE"));
    }

    @ParameterizedTest
    @ValueSource(
        strings = {
          "",
          "   \n\t",
          ";;;",
          "-- only a comment",
          "/* unterminated SET ROLE x",
          "SELECT 'unterminated; SET ROLE x",
          "SELECT $q$ unterminated; LISTEN x",
          "SELECT \"unterminated; SET ROLE x",
          "SELECT E'unterminated\\",
        })
    void emptyAndUnterminatedTextIsPlain(String sql) {
      Classification c = SessionStateClassifier.classify(sql, TRACKED);
      assertThat(c.isPlain()).isTrue();
      assertThat(c).isSameAs(Classification.plain());
    }

    @Test
    void nullsAreRejected() {
      assertThatThrownBy(() -> SessionStateClassifier.classify(null, TRACKED))
          .isInstanceOf(NullPointerException.class);
      assertThatThrownBy(() -> SessionStateClassifier.classify("SELECT 1", null))
          .isInstanceOf(NullPointerException.class);
    }
  }

  @Nested
  class ClassificationHelpers {
    @Test
    void helpersSummariseTheEffects() {
      Classification c =
          SessionStateClassifier.classify(
              "SET application_name = 'a'; LISTEN x; SET ROLE y", TRACKED);
      assertThat(c.isPlain()).isFalse();
      assertThat(c.hasPin()).isTrue();
      assertThat(c.firstPin()).contains(pin("LISTEN"));
      assertThat(c.pinReasons()).containsExactly("LISTEN", "SET ROLE");
      assertThat(c.effectsOf(TrackedSet.class)).containsExactly(tracked("application_name"));
      assertThat(c.effects()).isUnmodifiable();
    }

    @Test
    void trackedOnlyTextDoesNotPin() {
      Classification c = SessionStateClassifier.classify("SET TIME ZONE 'UTC'", TRACKED);
      assertThat(c.hasPin()).isFalse();
      assertThat(c.firstPin()).isEmpty();
      assertThat(c.isPlain()).isFalse();
    }
  }

  @Nested
  class Properties {
    private static final List<String> SAMPLES =
        List.of(
            "SET search_path TO x",
            "SET LOCAL application_name = 'x'",
            "SET SESSION AUTHORIZATION DEFAULT",
            "SET TIME ZONE 'UTC'",
            "RESET ALL",
            "SELECT pg_catalog.set_config('search_path', '', false)",
            "SELECT set_config('application_name', 'x', true::boolean)",
            "SELECT set_config('application_name', $1, false)",
            "SELECT set_config('a.b', set_config('c.d', 'e', false), true)",
            "CREATE TEMP TABLE t (a int) ON COMMIT DROP",
            "CREATE GLOBAL TEMPORARY TABLE t AS SELECT 1",
            "SELECT * INTO TEMP t FROM x",
            "SELECT 1 INTO pg_temp.t",
            "DECLARE c CURSOR WITH HOLD FOR SELECT 1",
            "PREPARE q(int) AS SELECT $1",
            "DEALLOCATE PREPARE ALL",
            "EXPLAIN (ANALYZE, BUFFERS) SELECT pg_advisory_lock(1)",
            "EXPLAIN SELECT pg_advisory_lock(1)",
            "UPDATE ONLY pg_catalog.pg_settings SET setting = 'x'",
            "LISTEN x; UNLISTEN x; DISCARD ALL",
            "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC"
                + " SELECT CASE WHEN true THEN 1 END; END; SET ROLE x",
            "SELECT 'SET ROLE x', $$LISTEN y$$, E'\\'' FROM t WHERE a::int = -1");

    private static final List<String> SEPARATORS =
        List.of(" ", "\n", "\t ", " /* c */ ", " /* a /* nested */ b */", " -- c\n", "\n--\n ");

    @Test
    void commentsAndWhitespaceBetweenTokensNeverChangeTheClassification() {
      Random random = new Random(7);
      for (String sample : SAMPLES) {
        Classification expected = SessionStateClassifier.classify(sample, TRACKED);
        for (int round = 0; round < 200; round++) {
          String variant = scatter(sample, random);
          assertThat(SessionStateClassifier.classify(variant, TRACKED))
              .as("variant %s", variant)
              .isEqualTo(expected);
        }
      }
    }

    @Test
    void theCaseOfKeywordsNeverChangesTheClassification() {
      Random random = new Random(11);
      for (String sample : SAMPLES) {
        Classification expected = SessionStateClassifier.classify(sample, TRACKED);
        for (int round = 0; round < 50; round++) {
          String variant = recase(sample, random);
          assertThat(SessionStateClassifier.classify(variant, TRACKED))
              .as("variant %s", variant)
              .isEqualTo(expected);
        }
      }
    }

    @Test
    void theSamplesCoverBothOutcomes() {
      long plain =
          SAMPLES.stream()
              .filter(s -> SessionStateClassifier.classify(s, TRACKED).isPlain())
              .count();
      assertThat(plain).isBetween(3L, (long) SAMPLES.size() - 10);
    }

    /** Inserts a random separator before some tokens; separators start with whitespace. */
    private static String scatter(String sql, Random random) {
      StringBuilder out = new StringBuilder();
      int at = 0;
      for (SqlToken t : SqlLexer.tokenize(sql)) {
        out.append(sql, at, t.start());
        if (random.nextInt(3) == 0) {
          out.append(SEPARATORS.get(random.nextInt(SEPARATORS.size())));
        }
        out.append(sql, t.start(), t.end());
        at = t.end();
      }
      out.append(sql.substring(at));
      if (random.nextBoolean()) {
        out.append(SEPARATORS.get(random.nextInt(SEPARATORS.size())));
      }
      return out.toString();
    }

    /** Flips the case of letters in unquoted words (not in literal prefixes such as E'). */
    private static String recase(String sql, Random random) {
      StringBuilder out = new StringBuilder(sql);
      for (SqlToken t : SqlLexer.tokenize(sql)) {
        String raw = sql.substring(t.start(), t.end());
        if (t.kind() != SqlToken.Kind.IDENTIFIER || t.quoted() || !raw.matches("[A-Za-z_]\\w*")) {
          continue;
        }
        for (int i = t.start(); i < t.end(); i++) {
          char c = sql.charAt(i);
          out.setCharAt(
              i, random.nextBoolean() ? Character.toUpperCase(c) : Character.toLowerCase(c));
        }
      }
      return out.toString();
    }
  }

  @Nested
  class Performance {
    @Test
    void aLargeSelectFullOfLiteralsClassifiesInLinearTime() {
      StringBuilder sb = new StringBuilder("SELECT ");
      int i = 0;
      while (sb.length() < 100_000) {
        sb.append("'value ").append(i).append(" it''s; SET ROLE x', ");
        sb.append("E'esc\\'aped; LISTEN y', ");
        sb.append("$$dollar; LOAD 'z'$$, ");
        sb.append("\"col").append(i).append("\" /* SET ROLE */, ");
        sb.append("f(").append(i++).append(", 'x'), ");
      }
      sb.append("1 FROM t WHERE a = 'SELECT pg_advisory_lock(1)'");
      String sql = sb.toString();
      for (int round = 0; round < 1_000; round++) {
        assertThat(SessionStateClassifier.classify(sql, TRACKED).isPlain()).isTrue();
      }
    }

    @Test
    void pathologicalTextStaysLinear() {
      int n = 100_000;
      assertThat(effects("SELECT " + "(".repeat(n) + "1")).isEmpty();
      assertThat(effects("SELECT 1 " + "/*".repeat(n / 2))).isEmpty();
      assertThat(effects("$".repeat(n))).isEmpty();
      assertThat(effects("'".repeat(n + 1))).isEmpty();
      assertThat(effects("SELECT " + "'a'\n".repeat(n / 4))).isEmpty();
      assertThat(effects("SELECT " + "E'\\".repeat(n / 3))).isEmpty();
      assertThat(effects("SELECT 1;".repeat(n / 9))).isEmpty();
      String tag = "$" + "a".repeat(n / 10) + "$";
      assertThat(effects(tag + ("$" + "a".repeat(n / 10)).repeat(10) + " LISTEN x")).isEmpty();
      assertThat(effects("SELECT " + "set_config(".repeat(n / 11))).hasSize(n / 11);
      assertThat(effects("CREATE TEMP TABLE t (" + "a int, ".repeat(n / 7) + "b int)"))
          .containsExactly(pin("CREATE TEMP TABLE"));
      assertThat(effects("EXPLAIN (" + "COSTS on, ".repeat(n / 10) + "ANALYZE) SELECT 1"))
          .isEmpty();
    }
  }
}
