package dev.sluice.engine;

import static dev.sluice.engine.Wire.bind;
import static dev.sluice.engine.Wire.commandComplete;
import static dev.sluice.engine.Wire.dataRows;
import static dev.sluice.engine.Wire.empty;
import static dev.sluice.engine.Wire.execute;
import static dev.sluice.engine.Wire.parse;
import static dev.sluice.engine.Wire.ready;
import static dev.sluice.engine.Wire.sync;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.cache.ResultCache;
import dev.sluice.engine.EngineHarness.Backend;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Replay: a batch sent again on another backend when nothing of it reached the client. */
class ReplayTest {

  @Test
  void aBatchOfWhichNothingReachedTheClientIsSentAgainOnAnotherBackend() {
    EngineHarness h = new EngineHarness((ResultCache) null, readOnly -> true);
    Backend first = h.newBackend("s1");
    h.fromClient(parse("S_1", "SELECT 1"), bind("", "S_1", 0), execute(""), sync());
    h.grant(first);
    assertThat(first.received()).hasSize(4);

    h.session.onBackendClosed(first); // gone before a byte of the answer
    assertThat(h.pool.events()).containsExactly("acquire", "link s1", "acquire");
    assertThat(h.session.state()).isEqualTo(ClientState.WAITING_FOR_BACKEND);

    Backend second = h.newBackend("s2");
    h.grant(second);
    List<String> again = second.received();
    assertThat(again).hasSize(4);
    assertThat(again.get(0)).startsWith("P:sluice_").endsWith(":SELECT 1");
    h.fromBackend(
        second, empty('1'), empty('2'), dataRows("1"), commandComplete("SELECT 1"), ready('I'));
    assertThat(h.client.received()).containsExactly("1", "2", "D:1", "C:SELECT 1", "Z:I");
    assertThat(h.stats.replays.sum()).isEqualTo(1);
    assertThat(h.client.closedFor).isNull();
  }

  @Test
  void noReplayOnceSomethingReachedTheClient() {
    EngineHarness h = new EngineHarness((ResultCache) null, readOnly -> true);
    Backend first = h.newBackend("s1");
    h.fromClient(parse("", "SELECT 1"), bind("", "", 0), execute(""), sync());
    h.grant(first);
    h.fromBackend(first, empty('1'));
    h.session.onBackendClosed(first);
    assertThat(h.client.received()).containsExactly("1", "E:08006");
    assertThat(h.client.closedFor).isEqualTo(CloseReason.SERVER_GONE);
    assertThat(h.stats.replays.sum()).isZero();
    first.release();
  }

  @Test
  void withoutAPolicyABackendLostMidBatchEndsTheClient() {
    EngineHarness h = new EngineHarness((ResultCache) null, ReplayPolicy.NEVER);
    Backend first = h.newBackend("s1");
    h.fromClient(parse("", "SELECT 1"), bind("", "", 0), execute(""), sync());
    h.grant(first);
    h.session.onBackendClosed(first);
    assertThat(h.client.received()).containsExactly("E:08006");
    first.release();
  }
}
