package dev.sluice.engine;

import static dev.sluice.engine.Wire.bind;
import static dev.sluice.engine.Wire.commandComplete;
import static dev.sluice.engine.Wire.dataRows;
import static dev.sluice.engine.Wire.empty;
import static dev.sluice.engine.Wire.error;
import static dev.sluice.engine.Wire.execute;
import static dev.sluice.engine.Wire.notice;
import static dev.sluice.engine.Wire.parse;
import static dev.sluice.engine.Wire.query;
import static dev.sluice.engine.Wire.ready;
import static dev.sluice.engine.Wire.rowDescription;
import static dev.sluice.engine.Wire.sync;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.cache.ResultCache;
import dev.sluice.engine.EngineHarness.Backend;
import org.junit.jupiter.api.Test;

/**
 * A backend that goes away under a request, with the production policy: a read-only batch of which
 * nothing reached the client runs again on another backend, hiding the server's goodbye; anything
 * else gets the goodbye, once.
 */
class BackendLossTest {
  private final EngineHarness h = new EngineHarness((ResultCache) null, ReplayPolicy.READ_ONLY);
  private final Backend first = h.newBackend("s1");
  private final Backend second = h.newBackend("s2");

  private void restartHits(Backend b) {
    h.fromBackend(
        b, error("FATAL", "57P01", "terminating connection due to administrator command"));
    h.session.onBackendClosed(b);
  }

  @Test
  void aReadRunsAgainElsewhereAndTheClientNeverHearsOfTheRestart() {
    h.fromClient(query("SELECT count(*) FROM t"));
    h.grant(first);
    restartHits(first);
    assertThat(h.client.received()).isEmpty();
    assertThat(h.session.state()).isEqualTo(ClientState.WAITING_FOR_BACKEND);

    h.grant(second);
    assertThat(second.received()).containsExactly("Q:SELECT count(*) FROM t");
    h.fromBackend(
        second, rowDescription("count"), dataRows("3"), commandComplete("SELECT 1"), ready('I'));
    assertThat(h.client.received()).containsExactly("T", "D:3", "C:SELECT 1", "Z:I");
    assertThat(h.stats.replays.sum()).isEqualTo(1);
    assertThat(h.session.out.owed().owed()).isZero();
    first.release();
  }

  /**
   * A crash of another backend makes PostgreSQL quit every session with a 57P02 warning, not a
   * FATAL: that notice must not count as part of the answer, or the read could not run again.
   */
  @Test
  void aCrashWarningBeforeTheCloseStillLetsAReadRunAgain() {
    h.fromClient(query("SELECT count(*) FROM t"));
    h.grant(first);
    h.fromBackend(
        first,
        notice("57P02", "terminating connection because of crash of another server process"));
    h.session.onBackendClosed(first);
    assertThat(h.client.received()).isEmpty();
    h.grant(second);
    assertThat(second.received()).containsExactly("Q:SELECT count(*) FROM t");
    h.fromBackend(
        second, rowDescription("count"), dataRows("3"), commandComplete("SELECT 1"), ready('I'));
    assertThat(h.client.received()).containsExactly("T", "D:3", "C:SELECT 1", "Z:I");
    first.release();
  }

  @Test
  void aCrashWarningBeforeTheCloseOfAWriteReachesTheClientWithTheError() {
    h.fromClient(query("INSERT INTO t VALUES (1)"));
    h.grant(first);
    h.fromBackend(
        first,
        notice("57P02", "terminating connection because of crash of another server process"));
    h.session.onBackendClosed(first);
    assertThat(h.client.received()).containsExactly("N:57P02", "E:08006");
    first.release();
  }

  @Test
  void aPreparedReadRunsAgainUnderAFreshServerName() {
    h.fromClient(parse("S_1", "SELECT v FROM t WHERE id = $1"), sync());
    h.grant(first);
    h.fromBackend(first, empty('1'), ready('I'));
    h.client.received();
    first.received();

    h.fromClient(bind("", "S_1", 0), execute(""), sync());
    Backend b = h.newBackend("s3");
    h.grant(b);
    restartHits(b);
    h.grant(second);
    assertThat(second.received().get(0))
        .startsWith("P:sluice_")
        .endsWith(":SELECT v FROM t WHERE id = $1");
    h.fromBackend(
        second, empty('1'), empty('2'), dataRows("7"), commandComplete("SELECT 1"), ready('I'));
    assertThat(h.client.received()).containsExactly("2", "D:7", "C:SELECT 1", "Z:I");
    b.release();
    first.release();
  }

  /**
   * A backend that quits mid-statement flushes what it had buffered (ParseComplete, BindComplete,
   * RowDescription) in the same read as its goodbye: that is no answer the client must see.
   */
  @Test
  void whatAQuittingBackendFlushedWithItsGoodbyeDoesNotStopARead() {
    h.fromClient(parse("", "SELECT v FROM t"), bind("", "", 0), execute(""), sync());
    h.grant(first);
    h.fromBackend(
        first,
        empty('1'),
        empty('2'),
        rowDescription("v"),
        notice("57P02", "terminating connection because of crash of another server process"));
    h.session.onBackendClosed(first);
    assertThat(h.client.received()).isEmpty();
    h.grant(second);
    h.fromBackend(
        second, empty('1'), empty('2'), dataRows("7"), commandComplete("SELECT 1"), ready('I'));
    assertThat(h.client.received()).containsExactly("1", "2", "D:7", "C:SELECT 1", "Z:I");
    assertThat(h.stats.replays.sum()).isEqualTo(1);
    first.release();
  }

  @Test
  void aWriteIsNeverRunTwice() {
    h.fromClient(query("UPDATE t SET v = v + 1"));
    h.grant(first);
    restartHits(first);
    assertThat(h.client.received()).containsExactly("E:57P01");
    assertThat(h.client.closedFor).isEqualTo(CloseReason.SERVER_FATAL);
    assertThat(h.stats.replays.sum()).isZero();
    first.release();
  }

  @Test
  void nothingRunsAgainInsideATransaction() {
    h.fromClient(query("BEGIN"));
    h.grant(first);
    h.fromBackend(first, commandComplete("BEGIN"), ready('T'));
    h.fromClient(query("SELECT 1"));
    restartHits(first);
    assertThat(h.client.received()).containsExactly("C:BEGIN", "Z:T", "E:57P01");
    assertThat(h.client.closedFor).isEqualTo(CloseReason.SERVER_FATAL);
    first.release();
  }
}
