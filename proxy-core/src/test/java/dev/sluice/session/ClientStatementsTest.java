package dev.sluice.session;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.error.SqlState;
import dev.sluice.session.ClientStatements.Route;
import org.junit.jupiter.api.Test;

class ClientStatementsTest {
  private static final StatementKey SELECT_1 = new StatementKey("SELECT 1", new int[0], "");
  private static final StatementKey SELECT_2 = new StatementKey("SELECT 2", new int[0], "");

  @Test
  void firstParseIsSentUnderASluiceNameAndTheNextClientsIsAnsweredLocally() {
    ServerStatements backend = new ServerStatements(10);
    ClientStatements a = new ClientStatements();
    ClientStatements b = new ClientStatements();
    Route first = a.parse("S_1", SELECT_1, backend);
    assertThat(first).isInstanceOf(Route.Send.class);
    Route.Send send = (Route.Send) first;
    assertThat(send.prepareFirst()).isFalse();
    assertThat(send.serverName()).startsWith("sluice_");
    assertThat(b.parse("S_1", SELECT_1, backend)).isEqualTo(new Route.Answer(SELECT_1));
  }

  @Test
  void sameNameForDifferentSqlInTwoClientsStaysApart() {
    ServerStatements backend = new ServerStatements(10);
    ClientStatements a = new ClientStatements();
    ClientStatements b = new ClientStatements();
    a.parse("S_1", SELECT_1, backend);
    b.parse("S_1", SELECT_2, backend);
    Route.Send ua = (Route.Send) a.use("S_1", backend);
    Route.Send ub = (Route.Send) b.use("S_1", backend);
    assertThat(ua.key()).isEqualTo(SELECT_1);
    assertThat(ub.key()).isEqualTo(SELECT_2);
    assertThat(ua.serverName()).isNotEqualTo(ub.serverName());
  }

  @Test
  void useOnABackendThatLacksTheStatementPreparesItFirst() {
    ClientStatements a = new ClientStatements();
    a.parse("S_1", SELECT_1, new ServerStatements(10));
    ServerStatements other = new ServerStatements(10);
    Route.Send use = (Route.Send) a.use("S_1", other);
    assertThat(use.prepareFirst()).isTrue();
    assertThat(other.lookup(SELECT_1)).isEqualTo(use.serverName());
    assertThat(((Route.Send) a.use("S_1", other)).prepareFirst()).isFalse();
  }

  @Test
  void duplicateAndUnknownNamesAreRefusedAsPostgreSqlWould() {
    ServerStatements backend = new ServerStatements(10);
    ClientStatements a = new ClientStatements();
    a.parse("S_1", SELECT_1, backend);
    assertThat(a.parse("S_1", SELECT_2, backend))
        .isEqualTo(
            new Route.Refuse(
                SqlState.DUPLICATE_PREPARED_STATEMENT,
                "prepared statement \"S_1\" already exists"));
    assertThat(a.use("nope", backend))
        .isEqualTo(
            new Route.Refuse(
                SqlState.INVALID_SQL_STATEMENT_NAME, "prepared statement \"nope\" does not exist"));
  }

  @Test
  void closeIsLocalAndUndoRestoresWhatASkippedRequestDid() {
    ServerStatements backend = new ServerStatements(10);
    ClientStatements a = new ClientStatements();
    a.parse("S_1", SELECT_1, backend);
    assertThat(a.close("S_1")).isEqualTo(new Route.Answer(SELECT_1));
    assertThat(a.has("S_1")).isFalse();
    assertThat(backend.lookup(SELECT_1)).as("others may still use it").isNotNull();
    a.restore("S_1", SELECT_1);
    assertThat(a.get("S_1")).isEqualTo(SELECT_1);
    a.forget("S_1", SELECT_2);
    assertThat(a.has("S_1")).as("forget only what that Parse created").isTrue();
    a.forget("S_1", SELECT_1);
    assertThat(a.has("S_1")).isFalse();
    assertThat(a.close("never")).isEqualTo(new Route.Answer(null));
  }

  @Test
  void aStatementPreparedBeforeASchemaChangeIsStaleOnceForPerColumnFormats() {
    StatementGenerations pool = new StatementGenerations();
    ServerStatements backend = new ServerStatements(10, pool);
    ClientStatements early = new ClientStatements(pool);
    ClientStatements relaxed = new ClientStatements(pool);
    early.parse("S_1", SELECT_1, backend);
    relaxed.parse("S_1", SELECT_1, backend);

    backend.discardEverywhere(SELECT_1); // some backend reported PostgreSQL's stale-plan error

    // formats chosen for the old shape: PostgreSQL's 0A000 once, then the statement is current
    assertThat(early.use("S_1", backend, true)).isEqualTo(new Route.Stale(SELECT_1));
    Route again = early.use("S_1", backend, true);
    assertThat(again).isInstanceOf(Route.Send.class);
    assertThat(((Route.Send) again).prepareFirst()).isTrue();
    // a client that takes any shape goes straight to a fresh copy
    assertThat(relaxed.use("S_1", backend, false)).isInstanceOf(Route.Send.class);
  }
}
