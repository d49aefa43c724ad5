package dev.sluice.engine;

import static dev.sluice.engine.Wire.bind;
import static dev.sluice.engine.Wire.commandComplete;
import static dev.sluice.engine.Wire.copyDataRun;
import static dev.sluice.engine.Wire.copyDone;
import static dev.sluice.engine.Wire.copyResponse;
import static dev.sluice.engine.Wire.dataRows;
import static dev.sluice.engine.Wire.empty;
import static dev.sluice.engine.Wire.error;
import static dev.sluice.engine.Wire.execute;
import static dev.sluice.engine.Wire.parse;
import static dev.sluice.engine.Wire.query;
import static dev.sluice.engine.Wire.ready;
import static dev.sluice.engine.Wire.rowDescription;
import static dev.sluice.engine.Wire.sync;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.backend.BackendState;
import dev.sluice.config.PoolMode;
import dev.sluice.engine.EngineHarness.Backend;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The session engine against a scripted client and scripted backends: the request and response
 * paths, release rules, settings, pins, COPY, cancel and a backend dying, in milliseconds. The
 * integration tests against a real PostgreSQL remain the behaviour contract; these pin down the
 * engine's own decisions.
 */
class ClientSessionTest {
  private final EngineHarness h = EngineHarness.transactionMode();
  private final Backend s1 = h.newBackend("s1");

  /** Client sends, the engine asks the pool, the pool grants s1. */
  private void linkedAfter(dev.sluice.protocol.Frame... frames) {
    h.fromClient(frames);
    assertThat(h.pool.events()).containsExactly("acquire");
    assertThat(h.session.state()).isEqualTo(ClientState.WAITING_FOR_BACKEND);
    assertThat(h.client.reading).as("a little waiting does not stop reading").isTrue();
    h.grant(s1);
    assertThat(h.pool.events()).containsExactly("link s1");
  }

  @Test
  void pipelinedQueriesAreAnsweredInOrderAndTheBackendIsReleasedAfterTheLast() {
    linkedAfter(query("SELECT 1"), query("SELECT 2"));
    assertThat(s1.received()).containsExactly("Q:SELECT 1", "Q:SELECT 2");
    assertThat(h.session.state()).isEqualTo(ClientState.ACTIVE);

    h.fromBackend(s1, rowDescription("a"), dataRows("1"), commandComplete("SELECT 1"), ready('I'));
    assertThat(h.client.received()).containsExactly("T", "D:1", "C:SELECT 1", "Z:I");
    assertThat(h.pool.events()).as("still one query in flight").isEmpty();

    h.fromBackend(s1, rowDescription("a"), dataRows("2"), commandComplete("SELECT 1"), ready('I'));
    assertThat(h.client.received()).containsExactly("T", "D:2", "C:SELECT 1", "Z:I");
    assertThat(h.pool.events()).containsExactly("release s1: transaction done");
    assertThat(h.session.state()).isEqualTo(ClientState.IDLE);
    assertThat(h.session.out.owed().owed()).isZero();
    assertThat(h.stats.bugs.sum()).isZero();
  }

  @Test
  void anErrorMidBatchSkipsEverythingUpToTheSync() {
    linkedAfter(
        parse("", "SELECT 1"),
        bind("", "", 0),
        execute(""),
        parse("", "SELECT nope"),
        bind("", "", 0),
        execute(""),
        sync());
    assertThat(s1.received())
        .containsExactly("P::SELECT 1", "B::", "E", "P::SELECT nope", "B::", "E", "S");

    // the second Parse fails: the server skips its Bind and Execute and answers the Sync
    h.fromBackend(
        s1,
        empty('1'),
        empty('2'),
        dataRows("1"),
        commandComplete("SELECT 1"),
        error("ERROR", "42703", "column \"nope\" does not exist"),
        ready('I'));
    assertThat(h.client.received())
        .containsExactly("1", "2", "D:1", "C:SELECT 1", "E:42703", "Z:I");
    assertThat(h.session.inFlight.quiet()).isTrue();
    assertThat(h.pool.events()).containsExactly("release s1: transaction done");
  }

  @Test
  void aBackendIsHeldThroughATransactionAndReleasedWhenItEnds() {
    linkedAfter(query("BEGIN"));
    h.fromBackend(s1, commandComplete("BEGIN"), ready('T'));
    assertThat(h.client.received()).containsExactly("C:BEGIN", "Z:T");
    assertThat(h.pool.events()).as("inside a transaction block").isEmpty();

    h.fromClient(query("UPDATE t SET v = 1"));
    assertThat(s1.received()).containsExactly("Q:BEGIN", "Q:UPDATE t SET v = 1");
    h.fromBackend(s1, commandComplete("UPDATE 1"), ready('T'));
    h.fromClient(query("COMMIT"));
    h.fromBackend(s1, commandComplete("COMMIT"), ready('I'));
    assertThat(h.pool.events()).containsExactly("release s1: transaction done");
  }

  @Test
  void sessionModeKeepsItsBackendAndResetsItWhenTheClientLeaves() {
    EngineHarness session = new EngineHarness(PoolMode.SESSION);
    Backend b = session.newBackend("b");
    session.fromClient(query("SELECT 1"));
    session.grant(b);
    session.fromBackend(b, commandComplete("SELECT 1"), ready('I'));
    assertThat(session.pool.events()).containsExactly("acquire", "link b");

    session.client.close(CloseReason.CLIENT_TERMINATE, null);
    assertThat(session.pool.events()).containsExactly("reset b [DISCARD ALL]");
    b.release();
    session.client.received();
  }

  @Test
  void copyInKeepsTheBackendUntilTheCopyEnds() {
    linkedAfter(query("COPY t FROM STDIN"));
    h.fromBackend(s1, copyResponse('G'));
    assertThat(h.client.received()).containsExactly("G");

    h.fromClient(copyDataRun("1\n", "2\n"));
    h.fromClient(copyDone());
    assertThat(s1.received()).containsExactly("Q:COPY t FROM STDIN", "d", "d", "c");
    assertThat(h.pool.events()).isEmpty();

    h.fromBackend(s1, commandComplete("COPY 2"), ready('I'));
    assertThat(h.client.received()).containsExactly("C:COPY 2", "Z:I");
    assertThat(h.pool.events()).containsExactly("release s1: transaction done");
  }

  /**
   * A COPY that fails while the backend cannot take more: the client was not read, waiting for the
   * backend to drain. The backend answers and goes back to the pool, so its becoming writable again
   * is no longer this session's news: the release itself must resume reading the client.
   */
  @Test
  void aCopyFailedWhileTheBackendWasFullLeavesTheClientReadAfterTheRelease() {
    linkedAfter(query("COPY t FROM STDIN"));
    h.fromBackend(s1, copyResponse('G'));
    h.client.received();
    s1.writable = false;
    h.fromClient(copyDataRun("1\n", "x\n"));
    assertThat(h.client.reading).as("not read while the backend is full").isFalse();

    h.fromBackend(s1, error("ERROR", "22P02", "invalid input syntax"), ready('I'));
    assertThat(h.pool.events()).containsExactly("release s1: transaction done");
    assertThat(h.client.reading).as("read again once the backend is released").isTrue();
    assertThat(h.client.received()).containsExactly("E:22P02", "Z:I");
  }

  @Test
  void copyOutIsRelayedAsItComes() {
    linkedAfter(query("COPY t TO STDOUT"));
    h.fromBackend(
        s1,
        copyResponse('H'),
        Wire.copyData("1\n"),
        Wire.copyData("2\n"),
        empty('c'),
        commandComplete("COPY 2"),
        ready('I'));
    assertThat(h.client.received()).containsExactly("H", "d", "d", "c", "C:COPY 2", "Z:I");
    assertThat(h.pool.events()).containsExactly("release s1: transaction done");
  }

  @Test
  void theClientIsNotReadWhileMuchWaitsForABackend() {
    h.fromClient(query("SELECT 1"));
    assertThat(h.client.reading).isTrue();
    String big = "x".repeat(Waiting.READ_LIMIT);
    h.fromClient(query("SELECT '" + big + "'"));
    assertThat(h.client.reading).as("the waiting messages hold too much").isFalse();
    h.grant(s1);
    assertThat(s1.received()).hasSize(2);
    assertThat(h.client.reading).as("they went to the backend").isTrue();
  }

  @Test
  void aCancelWhileWaitingForABackendAnswersAtOnceWithoutOne() {
    h.fromClient(query("SELECT pg_sleep(10)"));
    assertThat(h.pool.events()).containsExactly("acquire");

    h.session.requestCancel();

    assertThat(h.pool.events()).containsExactly("acquire cancelled");
    assertThat(h.client.received()).containsExactly("E:57014", "Z:I");
    assertThat(h.session.state()).isEqualTo(ClientState.IDLE);
    assertThat(h.client.reading).isTrue();
    assertThat(h.session.out.owed().owed()).isZero();
  }

  @Test
  void aCancelWhileLinkedGoesToTheBackend() {
    linkedAfter(query("SELECT pg_sleep(10)"));
    h.session.requestCancel();
    assertThat(h.pool.events()).containsExactly("cancel s1");
  }

  @Test
  void aFailedAcquireAnswersEveryQueuedRequestWithTheError() {
    h.fromClient(parse("", "SELECT 1"), bind("", "", 0), execute(""), sync(), query("SELECT 2"));
    h.pool
        .waiters
        .poll()
        .done(
            null,
            dev.sluice.error.SluiceException.error(
                dev.sluice.error.SqlState.TOO_MANY_CONNECTIONS, "no backend"));
    assertThat(h.client.received()).containsExactly("E:53300", "Z:I", "E:53300", "Z:I");
    assertThat(h.session.state()).isEqualTo(ClientState.IDLE);
  }

  @Test
  void settingsAreAppliedBeforeTheClientsRequestsAndTheirAnswersAreHidden() {
    EngineHarness e = new EngineHarness(b -> b, Map.of("DateStyle", "German"));
    Backend b = e.newBackend("b");
    e.fromClient(query("SELECT now()"));
    e.grant(b);
    assertThat(b.received())
        .as("the client's query waits for the settings")
        .containsExactly("Q:SELECT pg_catalog.set_config(E'datestyle', E'German', false);");
    assertThat(e.session.state()).isEqualTo(ClientState.SYNCING_SETTINGS);
    assertThat(e.client.reading).as("a little waiting does not stop reading").isTrue();

    e.fromBackend(
        b,
        rowDescription("set_config"),
        dataRows("German, DMY"),
        commandComplete("SELECT 1"),
        Wire.parameterStatus("DateStyle", "German, DMY"),
        ready('I'));
    assertThat(b.received()).containsExactly("Q:SELECT now()");
    assertThat(e.session.state()).isEqualTo(ClientState.ACTIVE);
    assertThat(e.client.received())
        .as("only the server's own report of the setting, nothing of the sync")
        .containsExactly("S:DateStyle=German, DMY");
    assertThat(b.session().applied()).containsEntry("datestyle", "German, DMY");
  }

  @Test
  void aSettingTheServerRefusesClosesTheBackendInsteadOfHandingItOn() {
    EngineHarness e = new EngineHarness(b -> b, Map.of("work_mem", "bogus"));
    Backend b = e.newBackend("b");
    e.fromClient(query("SELECT 1"));
    e.grant(b);
    b.received();
    e.fromBackend(b, error("ERROR", "22023", "invalid value for parameter"), ready('I'));
    assertThat(e.pool.events())
        .containsExactly("acquire", "link b", "release b closed: settings sync failed");
    assertThat(e.client.closedFor).isEqualTo(CloseReason.LOGIN_FAILED);
    assertThat(e.client.received()).containsExactly("E:22023");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "SET enable_seqscan = off",
        "SELECT set_config('enable_seqscan', 'off', false)",
        "SET ROLE other",
        "CREATE TEMP TABLE t (v int)",
        "LISTEN ch",
        "SELECT pg_advisory_lock(1)",
        "PREPARE p AS SELECT 1",
        "DECLARE c CURSOR WITH HOLD FOR SELECT 1",
        "LOAD 'auto_explain'"
      })
  void eachPinTriggerKeepsTheBackendForTheRestOfTheSession(String sql) {
    linkedAfter(query(sql));
    h.fromBackend(s1, commandComplete("X"), ready('I'));
    assertThat(h.pool.events()).as("pinned: never released between transactions").isEmpty();
    assertThat(h.stats.pins.sum()).isEqualTo(1);
    h.fromClient(query("SELECT 1"));
    assertThat(h.pool.events()).as("no new acquire: the client keeps s1").isEmpty();
    h.fromBackend(s1, commandComplete("SELECT 1"), ready('I'));
    s1.received();

    h.client.close(CloseReason.CLIENT_TERMINATE, null);
    assertThat(h.pool.events())
        .containsExactly(
            sql.startsWith("LOAD")
                ? "release s1 closed: a library was loaded into it (LOAD cannot be undone)"
                : "reset s1 [DISCARD ALL]");
    h.client.received();
  }

  @Test
  void rejectModeRefusesAPinningStatementAndTheSessionGoesOn() {
    EngineHarness e =
        new EngineHarness(b -> b.sessionState(dev.sluice.config.SessionStateMode.REJECT), Map.of());
    Backend b = e.newBackend("b");
    e.fromClient(query("LISTEN ch"));
    e.grant(b);
    assertThat(b.received()).hasSize(1).allMatch(m -> m.startsWith("Q:SELECT \"sluice:"));
    e.fromBackend(b, error("ERROR", "42703", "column does not exist"), ready('I'));
    assertThat(e.client.received()).containsExactly("E:0A000", "Z:I");
    assertThat(e.stats.rejections.sum()).isEqualTo(1);
    assertThat(e.pool.events()).contains("release b: transaction done");
  }

  @Test
  void aBackendDyingMidResponseEndsTheClientWith08006AfterWhatItAlreadyHad() {
    linkedAfter(query("SELECT * FROM big"));
    h.fromBackend(s1, rowDescription("a"), dataRows("1", "2"));
    h.session.onBackendClosed(s1);
    assertThat(h.client.received()).containsExactly("T", "D:1", "D:2", "E:08006");
    assertThat(h.client.closedFor).isEqualTo(CloseReason.SERVER_GONE);
    assertThat(h.session.state()).isEqualTo(ClientState.CLOSED);
  }

  @Test
  void theServersOwnGoodbyeReachesTheClientAsItSaidIt() {
    linkedAfter(query("SELECT pg_sleep(10)"));
    h.fromBackend(
        s1, error("FATAL", "57P01", "terminating connection due to administrator command"));
    h.session.onBackendClosed(s1);
    assertThat(h.client.received()).containsExactly("E:57P01");
    assertThat(h.client.closedFor).isEqualTo(CloseReason.SERVER_FATAL);
  }

  @Test
  void aBackendLostWhileTheSettingsAreAppliedIsSimplyReplaced() {
    EngineHarness e = new EngineHarness(b -> b, Map.of("DateStyle", "German"));
    Backend b = e.newBackend("b");
    e.fromClient(query("SELECT 1"));
    e.grant(b);
    e.fromBackend(b, error("FATAL", "57P01", "terminating connection"));
    e.session.onBackendClosed(b);
    assertThat(e.client.received()).as("nothing of the client's had gone out").isEmpty();
    assertThat(e.client.closedFor).isNull();
    assertThat(e.pool.events()).containsExactly("acquire", "link b", "acquire");

    Backend c = e.newBackend("c");
    e.grant(c);
    assertThat(c.received()).hasSize(1).allMatch(m -> m.contains("set_config"));
    e.fromBackend(c, commandComplete("SELECT 1"), ready('I'));
    assertThat(c.received()).containsExactly("Q:SELECT 1");
    b.release();
  }

  @Test
  void aClientLeavingMidTransactionGetsItsBackendRolledBack() {
    linkedAfter(query("BEGIN"));
    h.fromBackend(s1, commandComplete("BEGIN"), ready('T'));
    h.client.close(CloseReason.CLIENT_EOF, null);
    assertThat(h.pool.events()).containsExactly("reset s1 [ROLLBACK]");
    s1.release();
    h.client.received();
  }

  @Test
  void aClientLeavingWithARequestInFlightClosesItsBackend() {
    linkedAfter(query("SELECT pg_sleep(10)"));
    h.client.close(CloseReason.CLIENT_EOF, null);
    assertThat(h.pool.events())
        .containsExactly("release s1 closed: client left with a request in flight");
    s1.release();
  }

  @Test
  void aNamedStatementTheBackendAlreadyHasIsAnsweredInPlace() {
    linkedAfter(parse("S_1", "SELECT 1"), bind("", "S_1", 0), execute(""), sync());
    assertThat(s1.received().get(0)).startsWith("P:sluice_").endsWith(":SELECT 1");
    h.fromBackend(
        s1, empty('1'), empty('2'), dataRows("1"), commandComplete("SELECT 1"), ready('I'));
    assertThat(h.client.received()).containsExactly("1", "2", "D:1", "C:SELECT 1", "Z:I");

    // another round: the Parse is known to this pool, so no backend is needed to answer it
    h.fromClient(parse("S_2", "SELECT 1"), Wire.frame(o -> o.writeByte('H').writeInt(4)));
    assertThat(h.pool.events()).containsExactly("release s1: transaction done");
    assertThat(h.client.received()).containsExactly("1");
    assertThat(s1.session().state()).isEqualTo(BackendState.IDLE);
  }
}
