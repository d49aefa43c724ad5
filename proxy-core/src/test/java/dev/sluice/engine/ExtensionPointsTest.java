package dev.sluice.engine;

import static dev.sluice.engine.Wire.bind;
import static dev.sluice.engine.Wire.commandComplete;
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

import dev.sluice.engine.EngineHarness.Backend;
import dev.sluice.protocol.Frame;
import dev.sluice.session.sql.Classification;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The three places the result cache and replay will plug in, exercised with stand-ins: a request
 * answered with frames from elsewhere, a response captured as it is relayed, a batch sent again on
 * another backend when nothing of it reached the client.
 */
class ExtensionPointsTest {

  /** Answers "SELECT 42" with canned frames outside transactions; captures "SELECT 1". */
  private static final class StandIn implements QueryHooks {
    final List<String> captured = new ArrayList<>();
    final List<Boolean> ends = new ArrayList<>();

    @Override
    public ByteBuf answer(String sql, Classification c, boolean inTransaction) {
      if (!sql.equals("SELECT 42") || inTransaction) {
        return null;
      }
      ByteBuf b = Unpooled.buffer();
      for (Frame f :
          new Frame[] {rowDescription("v"), dataRows("42"), commandComplete("SELECT 1")}) {
        b.writeBytes(f.buf());
        f.release();
      }
      return b;
    }

    @Override
    public ResponseCapture capture(String sql, Classification c) {
      if (!sql.equals("SELECT 1")) {
        return null;
      }
      return new ResponseCapture() {
        @Override
        public void onFrame(ByteBuf frame) {
          captured.addAll(Wire.summarize(new ArrayList<>(List.of(frame)), true));
        }

        @Override
        public void onEnd(boolean complete) {
          ends.add(complete);
        }
      };
    }
  }

  private final StandIn hooks = new StandIn();

  @Test
  void aRequestAnsweredFromElsewhereNeedsNoBackend() {
    EngineHarness h = new EngineHarness(hooks, ReplayPolicy.NEVER);
    h.fromClient(query("SELECT 42"));
    assertThat(h.client.received()).containsExactly("T", "D:42", "C:SELECT 1", "Z:I");
    assertThat(h.pool.events()).as("no backend asked for").isEmpty();
    assertThat(h.session.out.owed().owed()).isZero();
  }

  @Test
  void withABackendHeldTheAnswerFromElsewhereTakesItsPlaceInLine() {
    EngineHarness h = new EngineHarness(hooks, ReplayPolicy.NEVER);
    Backend b = h.newBackend("b");
    h.fromClient(query("LISTEN ch")); // pins: the backend stays with the client
    h.grant(b);
    h.fromBackend(b, commandComplete("LISTEN"), ready('I'));
    assertThat(h.client.received()).containsExactly("C:LISTEN", "Z:I");

    h.fromClient(query("SELECT 42"));
    assertThat(b.received()).as("the backend never sees it").containsExactly("Q:LISTEN ch");
    assertThat(h.client.received()).containsExactly("T", "D:42", "C:SELECT 1", "Z:I");

    // behind a request in flight the transaction status is unknown: the hook is not asked
    h.fromClient(query("SELECT 7"), query("SELECT 42"));
    assertThat(b.received()).containsExactly("Q:SELECT 7", "Q:SELECT 42");
    b.release();
  }

  @Test
  void aResponseIsCapturedAsItIsRelayed() {
    EngineHarness h = new EngineHarness(hooks, ReplayPolicy.NEVER);
    Backend b = h.newBackend("b");
    h.fromClient(query("SELECT 1"));
    h.grant(b);
    h.fromBackend(b, rowDescription("v"), dataRows("1"), commandComplete("SELECT 1"), ready('I'));
    assertThat(h.client.received()).containsExactly("T", "D:1", "C:SELECT 1", "Z:I");
    assertThat(hooks.captured).containsExactly("T", "D:1", "C:SELECT 1");
    assertThat(hooks.ends).containsExactly(true);
  }

  @Test
  void aFailedOrInterruptedResponseEndsItsCaptureIncomplete() {
    EngineHarness h = new EngineHarness(hooks, ReplayPolicy.NEVER);
    Backend b = h.newBackend("b");
    h.fromClient(query("SELECT 1"));
    h.grant(b);
    h.fromBackend(b, error("ERROR", "57014", "canceling statement"), ready('I'));
    assertThat(hooks.ends).containsExactly(false);

    h.fromClient(query("SELECT 1"));
    Backend c = h.newBackend("c");
    h.grant(c);
    h.fromBackend(c, rowDescription("v"));
    h.session.onBackendClosed(c);
    assertThat(hooks.ends).containsExactly(false, false);
    h.client.received();
  }

  @Test
  void aBatchOfWhichNothingReachedTheClientIsSentAgainOnAnotherBackend() {
    EngineHarness h = new EngineHarness(QueryHooks.NONE, readOnly -> true);
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
    EngineHarness h = new EngineHarness(QueryHooks.NONE, readOnly -> true);
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
    EngineHarness h = new EngineHarness(QueryHooks.NONE, ReplayPolicy.NEVER);
    Backend first = h.newBackend("s1");
    h.fromClient(parse("", "SELECT 1"), bind("", "", 0), execute(""), sync());
    h.grant(first);
    h.session.onBackendClosed(first);
    assertThat(h.client.received()).containsExactly("E:08006");
    first.release();
  }
}
