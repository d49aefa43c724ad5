package dev.sluice.engine;

import dev.sluice.cache.CacheDecision;
import dev.sluice.cache.CacheEntry;
import dev.sluice.cache.CacheFill;
import dev.sluice.cache.CacheKey;
import dev.sluice.cache.Cacheability;
import dev.sluice.cache.CacheabilityClassifier;
import dev.sluice.cache.CacheabilityClassifier.StatementFacts;
import dev.sluice.cache.ResultCache;
import dev.sluice.protocol.Frame;
import dev.sluice.protocol.FrontendType;
import dev.sluice.protocol.backend.ReadyForQuery;
import dev.sluice.protocol.frontend.Bind;
import dev.sluice.protocol.frontend.Describe;
import dev.sluice.protocol.frontend.Parse;
import dev.sluice.session.StatementKey;
import io.netty.buffer.ByteBuf;
import java.util.ArrayList;
import java.util.List;

/**
 * The result cache's place in a session, in front of the request path: a request that arrives when
 * nothing of the client's is in flight and no transaction is open is looked up; a hit is answered
 * at once (no backend), a miss goes on to the backend with its answer captured for the cache
 * ({@link ClientOutput#capture}), and a miss another session is already filling waits for that fill
 * ("parked", the client not read meanwhile). Every statement that passes is also read for what it
 * writes; the cache hears of those tables when the transaction that wrote them ends.
 *
 * <p>What is looked up: a simple Query, and in transaction mode an extended-protocol batch of the
 * shape drivers send for one statement: {@code [Parse (unnamed)] Bind (unnamed portal) [Describe]
 * Execute (all rows) Sync}, gathered up to its Sync before deciding. Anything else passes through.
 *
 * <p>Not thread-safe: the client's event loop owns it.
 */
final class CacheFront {
  private final ClientSession s;
  private final ResultCache cache;
  private final CacheabilityClassifier classifier;
  private final String database;

  private final CacheBatch batch = new CacheBatch();

  private Parked parked;

  private final CacheEligibility when;

  private final SessionWrites writes;

  /**
   * Session mode: the Parse of the unnamed statement last answered from the cache, which the
   * backend never saw; sent (hidden) before the client next uses the unnamed statement without
   * parsing it, so the backend's unnamed statement is the one the client thinks it is.
   */
  private byte[] unnamedParse;

  /** A request waiting for another session's fill of its key, and what arrived behind it. */
  private record Parked(List<Frame> frames, Classified classified, List<Frame> behind) {}

  CacheFront(ClientSession s, ResultCache cache, String database, String user) {
    this.s = s;
    this.cache = cache;
    this.database = database;
    this.classifier = cache.classifier(database);
    this.writes = new SessionWrites(cache, database);
    this.when = new CacheEligibility(s, database, user);
  }

  /** Whether a request waits for another session's fill (the client is not read meanwhile). */
  boolean parked() {
    return parked != null;
  }

  /**
   * A message from the client. Returns true when the front took it (answered, parked, gathered, or
   * passed on itself); false when the session should pass it on as usual.
   */
  boolean offer(Frame f) {
    if (parked != null) {
      parked.behind().add(f);
      return true;
    }
    if (f.isRun()) {
      return batch.gathering() && breakBatch(f);
    }
    if (batch.gathering()) {
      return gather(f);
    }
    FrontendType type = FrontendType.of(f.type());
    return switch (type) {
      case QUERY -> query(f);
      case PARSE -> parse(f);
      case BIND -> bind(f);
      case DESCRIBE -> {
        Describe d = decode(f, Describe::decode);
        restoreUnnamed(d.isStatement() && d.name().isEmpty());
        yield false;
      }
      case FUNCTION_CALL -> {
        writes.unknown();
        yield false;
      }
      case CLOSE -> {
        Describe c = decode(f, Describe::decode);
        if (!s.transactionMode && c.isStatement() && !c.name().isEmpty()) {
          s.statements.remove(c.name());
        }
        yield false;
      }
      default -> false;
    };
  }

  // ---- simple Query ----

  private boolean query(Frame f) {
    Classified c = decode(f, body -> s.requests.classifyQuery(f));
    StatementFacts facts = classifier.facts(c.sql(), when.standardConformingStrings());
    writes.ran(facts.writes());
    when.observe(c.classification());
    Cacheability read = facts.read();
    CacheDecision blocked = read.cacheable() ? when.blocked() : null;
    if (!read.cacheable()) {
      cache.decisions().recordUncacheable(read);
    } else if (blocked != null) {
      cache.decisions().record(blocked);
    } else {
      ByteBuf body = f.body();
      byte[] request = new byte[body.readableBytes() + 1];
      request[0] = 'Q';
      body.getBytes(body.readerIndex(), request, 1, body.readableBytes());
      List<Frame> frames = new ArrayList<>(1);
      frames.add(f);
      serve(frames, c, new CacheKey(database, when.context(), request), read);
      return true;
    }
    s.dispatch(f, c);
    return true;
  }

  // ---- extended protocol ----

  private boolean parse(Frame f) {
    Parse p = decode(f, Parse::decode);
    StatementFacts facts = classifier.facts(p.query(), when.standardConformingStrings());
    writes.parsed(p.name(), facts.writes());
    if (p.name().isEmpty()) {
      unnamedParse = null; // the client replaces the unnamed statement itself
    }
    if (!facts.read().cacheable()) {
      cache.decisions().recordUncacheable(facts.read());
      return false;
    }
    CacheDecision blocked = when.blocked();
    if (blocked == null && (!p.name().isEmpty() || !when.extendedAllowed())) {
      blocked = CacheDecision.PROTOCOL;
    }
    if (blocked != null) {
      cache.decisions().record(blocked);
      return false;
    }
    startBatch(f);
    return true;
  }

  private boolean bind(Frame f) {
    Bind b = decode(f, Bind::decode);
    writes.bound(b.statement());
    if (b.statement().isEmpty() || !b.portal().isEmpty() || !s.statements.has(b.statement())) {
      restoreUnnamed(b.statement().isEmpty());
      return false;
    }
    if (!when.extendedAllowed()) {
      return false;
    }
    CacheDecision blocked = when.blocked();
    if (blocked != null) {
      cache.decisions().record(blocked);
      return false;
    }
    startBatch(f);
    return true;
  }

  private void startBatch(Frame f) {
    batch.start(f);
  }

  /**
   * Decodes a client message the front has not passed on yet; a malformed one is released here and
   * its violation ends the session upstream, as on the rest of the request path.
   */
  private static <T> T decode(Frame f, java.util.function.Function<ByteBuf, T> decoder) {
    try {
      return decoder.apply(f.body());
    } catch (RuntimeException e) {
      f.release();
      throw e;
    }
  }

  /** The next message of a batch being gathered. */
  private boolean gather(Frame f) {
    Bind bind = null;
    if (f.type() == FrontendType.BIND.code()) {
      bind = decode(f, Bind::decode);
      writes.bound(bind.statement());
    }
    Describe describe =
        f.type() == FrontendType.DESCRIBE.code() ? decode(f, Describe::decode) : null;
    if (!batch.fits(f, bind, describe)) {
      return breakBatch(f);
    }
    batch.add(f);
    if (f.type() == FrontendType.SYNC.code()) {
      decideBatch();
    }
    return true;
  }

  /**
   * The batch is not of a shape the cache serves: it goes on as usual, and {@code f} is looked at
   * afresh (what it writes still counts).
   */
  private boolean breakBatch(Frame f) {
    cache.decisions().record(CacheDecision.PROTOCOL);
    dispatchBatch();
    return offer(f);
  }

  private void dispatchBatch() {
    for (Frame f : batch.take()) {
      s.dispatch(f, Classified.NONE);
    }
  }

  private void decideBatch() {
    Frame first = batch.first();
    String sql;
    int[] types;
    if (first.type() == FrontendType.PARSE.code()) {
      Parse p = Parse.decode(first.body());
      sql = p.query();
      types = p.parameterTypes();
    } else {
      StatementKey key = s.statements.get(Bind.decode(first.body()).statement());
      if (key == null) {
        cache.decisions().record(CacheDecision.PROTOCOL);
        dispatchBatch();
        return;
      }
      sql = key.query();
      types = key.parameterTypes();
    }
    Cacheability read = classifier.facts(sql, when.standardConformingStrings()).read();
    CacheDecision blocked = read.cacheable() ? when.blocked() : null;
    if (!read.cacheable() || blocked != null) {
      if (blocked != null) {
        cache.decisions().record(blocked);
      } else {
        cache.decisions().recordUncacheable(read);
      }
      dispatchBatch();
      return;
    }
    List<Frame> frames = batch.take();
    serve(
        frames,
        Classified.NONE,
        new CacheKey(database, when.context(), CacheBatch.key(frames, sql, types)),
        read);
  }

  // ---- lookup and answer ----

  private void serve(List<Frame> frames, Classified c, CacheKey key, Cacheability read) {
    ResultCache.Lookup found = cache.lookup(key, read.relations(), read.ttl());
    if (found instanceof ResultCache.Lookup.Hit hit) {
      answer(hit.entry());
      if (!s.transactionMode && frames.get(0).type() == FrontendType.PARSE.code()) {
        ByteBuf parse = frames.get(0).buf();
        unnamedParse = new byte[parse.readableBytes()];
        parse.getBytes(parse.readerIndex(), unnamedParse);
      }
      if (hit.refresh() == null) {
        frames.forEach(Frame::release);
        return;
      }
      s.out.capture(hit.refresh(), true);
      dispatchAll(frames, c);
    } else if (found instanceof ResultCache.Lookup.Wait wait) {
      parked = new Parked(frames, c, new ArrayList<>());
      s.updateReading();
      CacheFill fill = wait.fill();
      fill.whenDone(entry -> s.out.port().execute(() -> resume(entry)));
    } else if (found instanceof ResultCache.Lookup.Miss miss) {
      s.out.capture(miss.fill(), false);
      dispatchAll(frames, c);
    }
  }

  private void dispatchAll(List<Frame> frames, Classified c) {
    if (frames.get(0).type() == FrontendType.PARSE.code()) {
      unnamedParse = null; // the backend's unnamed statement is the client's again
    }
    for (Frame f : frames) {
      s.dispatch(f, f.type() == FrontendType.QUERY.code() ? c : Classified.NONE);
    }
  }

  /** The stored frames, then ReadyForQuery (idle). */
  private void answer(CacheEntry entry) {
    byte[] frames = entry.frames();
    ByteBuf out = s.out.port().alloc().buffer(frames.length + 6);
    out.writeBytes(frames);
    ReadyForQuery.IDLE.encode(out);
    s.out.own(out, true);
  }

  /** The fill this session waited for has ended: answer from it, or run the request after all. */
  private void resume(CacheEntry entry) {
    Parked p = parked;
    if (p == null) {
      return;
    }
    parked = null;
    if (s.machine.is(ClientState.CLOSED)) {
      p.frames().forEach(Frame::release);
      p.behind().forEach(Frame::release);
      return;
    }
    if (entry != null) {
      answer(entry);
      p.frames().forEach(Frame::release);
    } else {
      dispatchAll(p.frames(), p.classified());
    }
    for (Frame f : p.behind()) {
      s.route(f);
    }
    s.onReadComplete();
    s.out.flush();
    s.updateReading();
  }

  /** See {@link #unnamedParse}: {@code uses} says the message uses the unnamed statement. */
  private void restoreUnnamed(boolean uses) {
    if (!uses || unnamedParse == null || batch.gathering()) {
      return;
    }
    byte[] parse = unnamedParse;
    unnamedParse = null;
    if (s.server != null && s.machine.is(ClientState.ACTIVE) && s.queue.isEmpty()) {
      ByteBuf out = s.out.port().alloc().buffer(parse.length);
      out.writeBytes(parse);
      s.requests.sendHiddenParse(out);
    }
  }

  // ---- writes ----

  /** A ReadyForQuery: when no transaction is open any more, the tables written are news. */
  void afterReady(ReadyForQuery status) {
    if (status == ReadyForQuery.IDLE) {
      writes.publish();
    }
  }

  /** The session ends: nothing it holds is answered, and what it may have written is news. */
  void close() {
    s.out.abortCapture();
    batch.release();
    Parked p = parked;
    parked = null;
    if (p != null) {
      p.frames().forEach(Frame::release);
      p.behind().forEach(Frame::release);
    }
    writes.publish();
  }
}
