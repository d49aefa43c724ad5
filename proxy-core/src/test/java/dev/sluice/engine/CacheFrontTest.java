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

import dev.sluice.cache.CacheDecision;
import dev.sluice.cache.FunctionVolatility;
import dev.sluice.cache.RelationCatalog;
import dev.sluice.cache.ResultCache;
import dev.sluice.config.PoolMode;
import dev.sluice.engine.EngineHarness.Backend;
import dev.sluice.protocol.Frame;
import io.netty.buffer.ByteBuf;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * The result cache in a session, with scripted backends: what is looked up, what is answered
 * without a backend, what is captured, what waits for another session's fill, and what a write
 * invalidates.
 */
class CacheFrontTest {
  private final AtomicLong clock = new AtomicLong(1_000_000_000L);
  private final ResultCache cache =
      new ResultCache(
          new ResultCache.Settings(
              1 << 20, 64 * 1024, Duration.ofSeconds(10), Duration.ofSeconds(5)),
          clock::get);

  CacheFrontTest() {
    cache.catalogLoaded(
        "db",
        FunctionVolatility.builder().add("pg_catalog", "abs", "i").build(),
        RelationCatalog.builder()
            .relation("public", "t", "r", "false")
            .relation("public", "u", "r", "false")
            .build());
  }

  private EngineHarness session() {
    return new EngineHarness(cache, ReplayPolicy.NEVER);
  }

  private EngineHarness sessionMode() {
    return new EngineHarness(
        b -> b.poolMode(PoolMode.SESSION), Map.of(), cache, ReplayPolicy.NEVER);
  }

  /** Runs one SELECT of t through a backend, which answers {@code value}. */
  private void missAndFill(EngineHarness h, String sql, String value) {
    Backend b = h.newBackend("b" + value);
    h.fromClient(query(sql));
    h.grant(b);
    assertThat(b.received()).containsExactly("Q:" + sql);
    h.fromBackend(b, rowDescription("v"), dataRows(value), commandComplete("SELECT 1"), ready('I'));
    assertThat(h.client.received()).containsExactly("T", "D:" + value, "C:SELECT 1", "Z:I");
  }

  private static byte[] bytes(java.util.List<ByteBuf> written) {
    int n = written.stream().mapToInt(ByteBuf::readableBytes).sum();
    byte[] out = new byte[n];
    int at = 0;
    for (ByteBuf b : written) {
      b.getBytes(b.readerIndex(), out, at, b.readableBytes());
      at += b.readableBytes();
    }
    return out;
  }

  @Test
  void aRepeatedSelectIsAnsweredWithTheSameBytesAndNoBackend() {
    EngineHarness h = session();
    Backend b = h.newBackend("b");
    h.fromClient(query("SELECT v FROM t"));
    h.grant(b);
    h.fromBackend(b, rowDescription("v"), dataRows("7"), commandComplete("SELECT 1"), ready('I'));
    byte[] first = bytes(h.client.written);
    h.client.received();

    h.fromClient(query("SELECT v FROM t"));
    assertThat(bytes(h.client.written)).isEqualTo(first);
    assertThat(h.client.received()).containsExactly("T", "D:7", "C:SELECT 1", "Z:I");
    assertThat(h.pool.events()).containsExactly("acquire", "link b", "release b: transaction done");
    assertThat(cache.decisions().count(CacheDecision.MISS)).isEqualTo(1);
    assertThat(cache.decisions().count(CacheDecision.HIT)).isEqualTo(1);
    assertThat(h.session.out.owed().owed()).isZero();
  }

  @Test
  void aWriteThroughSluiceInvalidatesWhenItsTransactionEnds() {
    EngineHarness h = session();
    missAndFill(h, "SELECT v FROM t", "1");

    Backend w = h.newBackend("w");
    h.fromClient(query("BEGIN"));
    h.grant(w);
    h.fromBackend(w, commandComplete("BEGIN"), ready('T'));
    h.fromClient(query("UPDATE t SET v = 2"));
    h.fromBackend(w, commandComplete("UPDATE 1"), ready('T'));
    // not committed: others still get the old answer
    EngineHarness other = session();
    other.fromClient(query("SELECT v FROM t"));
    assertThat(other.client.received()).containsExactly("T", "D:1", "C:SELECT 1", "Z:I");
    h.fromClient(query("COMMIT"));
    h.fromBackend(w, commandComplete("COMMIT"), ready('I'));
    h.client.received();

    other.fromClient(query("SELECT v FROM t"));
    assertThat(other.pool.events()).containsExactly("acquire");
    assertThat(other.client.received()).isEmpty();
  }

  @Test
  void aWriteToAnotherTableLeavesTheEntry() {
    EngineHarness h = session();
    missAndFill(h, "SELECT v FROM t", "1");
    Backend w = h.newBackend("w");
    h.fromClient(query("INSERT INTO u VALUES (1)"));
    h.grant(w);
    h.fromBackend(w, commandComplete("INSERT 0 1"), ready('I'));
    h.client.received();
    h.fromClient(query("SELECT v FROM t"));
    assertThat(h.client.received()).containsExactly("T", "D:1", "C:SELECT 1", "Z:I");
  }

  @Test
  void insideATransactionBlockNothingIsServed() {
    EngineHarness h = session();
    missAndFill(h, "SELECT v FROM t", "1");
    Backend b = h.newBackend("b");
    h.fromClient(query("BEGIN"));
    h.grant(b);
    h.fromBackend(b, commandComplete("BEGIN"), ready('T'));
    h.client.received();
    h.fromClient(query("SELECT v FROM t"));
    assertThat(b.received()).containsExactly("Q:BEGIN", "Q:SELECT v FROM t");
    assertThat(cache.decisions().count(CacheDecision.TRANSACTION)).isEqualTo(1);
    b.release();
  }

  @Test
  void errorsAndNoticesAreNeverStored() {
    EngineHarness h = session();
    Backend b = h.newBackend("b");
    h.fromClient(query("SELECT v FROM t"));
    h.grant(b);
    h.fromBackend(b, error("ERROR", "42501", "permission denied"), ready('I'));
    h.client.received();
    Backend c = h.newBackend("c");
    h.fromClient(query("SELECT v FROM t"));
    h.grant(c);
    h.fromBackend(
        c,
        rowDescription("v"),
        notice("01000", "hm"),
        dataRows("1"),
        commandComplete("SELECT 1"),
        ready('I'));
    h.client.received();
    Backend d = h.newBackend("d");
    h.fromClient(query("SELECT v FROM t"));
    h.grant(d);
    assertThat(d.received()).containsExactly("Q:SELECT v FROM t");
    d.release();
    assertThat(cache.stores()).isZero();
  }

  @Test
  void anExtendedBatchIsCachedWithItsParseAndBindAnswers() {
    EngineHarness h = session();
    Backend b = h.newBackend("b");
    h.fromClient(parse("", "SELECT v FROM t"), bind("", "", 0), execute(""), sync());
    assertThat(h.pool.events()).containsExactly("acquire");
    h.grant(b);
    assertThat(b.received()).hasSize(4);
    h.fromBackend(
        b, empty('1'), empty('2'), dataRows("5"), commandComplete("SELECT 1"), ready('I'));
    byte[] first = bytes(h.client.written);
    h.client.received();

    h.fromClient(parse("", "SELECT v FROM t"), bind("", "", 0), execute(""), sync());
    assertThat(bytes(h.client.written)).isEqualTo(first);
    assertThat(h.client.received()).containsExactly("1", "2", "D:5", "C:SELECT 1", "Z:I");
    // other result formats are another key
    h.fromClient(parse("", "SELECT v FROM t"), bind("", "", 1), execute(""), sync());
    assertThat(h.pool.events()).endsWith("acquire");
    assertThat(h.client.received()).isEmpty();
  }

  @Test
  void concurrentMissesRunOnce() {
    EngineHarness first = session();
    EngineHarness second = session();
    Backend b = first.newBackend("b");
    first.fromClient(query("SELECT v FROM t"));
    first.grant(b);
    second.fromClient(query("SELECT v FROM t"));
    assertThat(second.pool.events()).as("waits for the fill, no backend").isEmpty();
    assertThat(second.client.reading).isFalse();

    first.fromBackend(
        b, rowDescription("v"), dataRows("3"), commandComplete("SELECT 1"), ready('I'));
    assertThat(second.client.received()).containsExactly("T", "D:3", "C:SELECT 1", "Z:I");
    assertThat(second.client.reading).isTrue();
    assertThat(b.received()).containsExactly("Q:SELECT v FROM t");
  }

  @Test
  void aFailedFillSendsItsWaitersToTheBackend() {
    EngineHarness first = session();
    EngineHarness second = session();
    Backend b = first.newBackend("b");
    first.fromClient(query("SELECT v FROM t"));
    first.grant(b);
    second.fromClient(query("SELECT v FROM t"));
    first.client.close(CloseReason.CLIENT_EOF, null); // the filler leaves
    assertThat(second.pool.events()).containsExactly("acquire");
    b.release();
  }

  @Test
  void aStaleEntryIsServedAndRefreshedOutOfSight() {
    EngineHarness h = session();
    missAndFill(h, "SELECT v FROM t", "1");
    clock.addAndGet(Duration.ofSeconds(12).toNanos()); // past max-age, within stale
    h.fromClient(query("SELECT v FROM t"));
    assertThat(h.client.received()).containsExactly("T", "D:1", "C:SELECT 1", "Z:I");
    Backend r = h.newBackend("r");
    h.grant(r);
    assertThat(r.received()).containsExactly("Q:SELECT v FROM t");
    h.fromBackend(r, rowDescription("v"), dataRows("2"), commandComplete("SELECT 1"), ready('I'));
    assertThat(h.client.received()).as("the refresh is not the client's").isEmpty();
    assertThat(h.session.out.owed().owed()).isZero();
    h.fromClient(query("SELECT v FROM t"));
    assertThat(h.client.received()).containsExactly("T", "D:2", "C:SELECT 1", "Z:I");
    assertThat(cache.decisions().count(CacheDecision.STALE)).isEqualTo(1);
  }

  @Test
  void afterMaxAgeAndStaleTheBackendAnswers() {
    EngineHarness h = session();
    missAndFill(h, "SELECT v FROM t", "1");
    clock.addAndGet(Duration.ofSeconds(16).toNanos());
    missAndFill(h, "SELECT v FROM t", "2");
  }

  @Test
  void sessionModeServesSimpleQueriesUntilTheSessionChangesState() {
    EngineHarness h = sessionMode();
    Backend b = h.newBackend("b");
    h.fromClient(query("SELECT v FROM t"));
    h.grant(b);
    h.fromBackend(b, rowDescription("v"), dataRows("1"), commandComplete("SELECT 1"), ready('I'));
    h.client.received();
    h.fromClient(query("SELECT v FROM t"));
    assertThat(h.client.received()).containsExactly("T", "D:1", "C:SELECT 1", "Z:I");
    assertThat(b.received()).containsExactly("Q:SELECT v FROM t");

    h.fromClient(query("SET search_path = other"));
    h.fromBackend(b, commandComplete("SET"), ready('I'));
    h.client.received();
    h.fromClient(query("SELECT v FROM t"));
    assertThat(b.received()).containsExactly("Q:SET search_path = other", "Q:SELECT v FROM t");
    assertThat(cache.decisions().count(CacheDecision.SESSION_STATE)).isEqualTo(1);
    b.release();
  }

  @Test
  void volatileAndUnknownThingsAreNotLookedUp() {
    EngineHarness h = session();
    for (String sql :
        new String[] {"SELECT random()", "SELECT * FROM t FOR UPDATE", "SELECT * FROM nosuch"}) {
      Backend b = h.newBackend("b");
      h.fromClient(query(sql));
      h.grant(b);
      h.fromBackend(b, rowDescription("v"), dataRows("1"), commandComplete("SELECT 1"), ready('I'));
      h.client.received();
      assertThat(b.received()).containsExactly("Q:" + sql);
    }
    assertThat(cache.stores()).isZero();
  }

  @Test
  void sessionModeRestoresTheUnnamedStatementACacheHitKeptFromTheBackend() {
    EngineHarness h = sessionMode();
    Backend b = h.newBackend("b");
    h.fromClient(query("SELECT 1"));
    h.grant(b);
    h.fromBackend(b, rowDescription("v"), dataRows("1"), commandComplete("SELECT 1"), ready('I'));
    b.received();
    h.client.received();
    for (int i = 0; i < 2; i++) {
      h.fromClient(parse("", "SELECT v FROM t"), bind("", "", 0), execute(""), sync());
      if (i == 0) {
        assertThat(b.received()).hasSize(4);
        h.fromBackend(
            b, empty('1'), empty('2'), dataRows("5"), commandComplete("SELECT 1"), ready('I'));
      }
      assertThat(h.client.received()).containsExactly("1", "2", "D:5", "C:SELECT 1", "Z:I");
    }
    assertThat(b.received()).as("the second came from the cache").isEmpty();

    // the client binds the unnamed statement it believes it parsed last
    h.fromClient(bind("", "", 0), execute(""), sync());
    List<String> sent = b.received();
    assertThat(sent).hasSize(4);
    assertThat(sent.get(0)).startsWith("P:").endsWith(":SELECT v FROM t");
    h.fromBackend(
        b, empty('1'), empty('2'), dataRows("6"), commandComplete("SELECT 1"), ready('I'));
    assertThat(h.client.received()).containsExactly("2", "D:6", "C:SELECT 1", "Z:I");
  }

  @Test
  void aTtlHintShortensTheEntrysLife() {
    EngineHarness h = session();
    missAndFill(h, "/* sluice:ttl=1s */ SELECT v FROM t", "1");
    h.fromClient(query("/* sluice:ttl=1s */ SELECT v FROM t"));
    assertThat(h.client.received()).containsExactly("T", "D:1", "C:SELECT 1", "Z:I");
    clock.addAndGet(Duration.ofMillis(1_500).toNanos()); // past its 1 s, within stale
    h.fromClient(query("/* sluice:ttl=1s */ SELECT v FROM t"));
    assertThat(cache.decisions().count(CacheDecision.STALE)).isEqualTo(1);
    h.client.received();
    Backend r = h.newBackend("r");
    h.grant(r);
    r.release();
  }

  @Test
  void anAnswerOverTheEntryLimitIsRelayedButNotStored() {
    ResultCache small =
        new ResultCache(
            new ResultCache.Settings(1 << 20, 64, Duration.ofSeconds(10), Duration.ZERO),
            clock::get);
    small.catalogLoaded(
        "db",
        FunctionVolatility.builder().build(),
        RelationCatalog.builder().relation("public", "t", "r", "false").build());
    EngineHarness h = new EngineHarness(small, ReplayPolicy.NEVER);
    String big = "x".repeat(100);
    for (int i = 0; i < 2; i++) {
      Backend b = h.newBackend("b" + i);
      h.fromClient(query("SELECT v FROM t"));
      h.grant(b);
      h.fromBackend(b, rowDescription("v"), dataRows(big), commandComplete("SELECT 1"), ready('I'));
      assertThat(h.client.received()).containsExactly("T", "D:" + big, "C:SELECT 1", "Z:I");
    }
    assertThat(small.stores()).isZero();
    assertThat(small.decisions().count(CacheDecision.RESULT_TOO_LARGE)).isEqualTo(2);
  }

  @Test
  void aMalformedMessageIsReleasedBeforeItsViolationEndsTheSession() {
    EngineHarness h = session();
    for (char type : new char[] {'P', 'B', 'D'}) {
      // a body that stops inside its first string
      Frame bad = Wire.frame(o -> o.writeByte(type).writeInt(6).writeByte('x').writeByte('y'));
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> h.session.onMessage(bad))
          .isInstanceOf(RuntimeException.class);
      assertThat(bad.buf().refCnt()).as("%s released", type).isZero();
    }
  }
}
