package dev.sluice.engine;

import dev.sluice.cache.CacheDecision;
import dev.sluice.cache.CacheEntry;
import dev.sluice.cache.CacheFill;
import dev.sluice.cache.CacheKey;
import dev.sluice.cache.Cacheability;
import dev.sluice.cache.CacheabilityClassifier;
import dev.sluice.cache.CacheabilityClassifier.StatementFacts;
import dev.sluice.cache.ResultCache;
import dev.sluice.cache.WriteTargets;
import dev.sluice.protocol.Frame;
import dev.sluice.protocol.FrontendType;
import dev.sluice.protocol.backend.ReadyForQuery;
import dev.sluice.protocol.frontend.Bind;
import dev.sluice.protocol.frontend.Describe;
import dev.sluice.protocol.frontend.Parse;
import dev.sluice.session.StatementKey;
import dev.sluice.session.sql.Classification;
import dev.sluice.session.sql.Effect;
import io.netty.buffer.ByteBuf;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

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
  private static final int MAX_BATCH_FRAMES = 6;
  private static final int MAX_BATCH_BYTES = 64 * 1024;

  private final ClientSession s;
  private final ResultCache cache;
  private final CacheabilityClassifier classifier;
  private final String database;
  private final String user;

  private final List<Frame> batch = new ArrayList<>();
  private boolean gathering;
  private int batchBytes;

  private Parked parked;

  private String context;
  private long contextVersion = -1;

  private final Map<String, WriteTargets> namedWrites = new HashMap<>();
  private WriteTargets unnamedWrites = WriteTargets.none();
  private WriteTargets pending = WriteTargets.none();

  /**
   * Session mode: the Parse of the unnamed statement last answered from the cache, which the
   * backend never saw; sent (hidden) before the client next uses the unnamed statement without
   * parsing it, so the backend's unnamed statement is the one the client thinks it is.
   */
  private byte[] unnamedParse;

  /** Session mode: the client changed session state, so its settings are not known. */
  private boolean stateChanged;

  /** A request waiting for another session's fill of its key, and what arrived behind it. */
  private record Parked(List<Frame> frames, Classified classified, List<Frame> behind) {}

  CacheFront(ClientSession s, ResultCache cache, String database, String user) {
    this.s = s;
    this.cache = cache;
    this.database = database;
    this.user = user;
    this.classifier = cache.classifier(database);
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
      return gathering && breakBatch(f);
    }
    if (gathering) {
      return gather(f);
    }
    FrontendType type = FrontendType.of(f.type());
    return switch (type) {
      case QUERY -> query(f);
      case PARSE -> parse(f);
      case BIND -> bind(f);
      case DESCRIBE -> {
        Describe d = Describe.decode(f.body());
        restoreUnnamed(d.isStatement() && d.name().isEmpty());
        yield false;
      }
      case CLOSE -> {
        Describe c = Describe.decode(f.body());
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
    Classified c = s.requests.classifyQuery(f);
    StatementFacts facts = classifier.facts(c.sql(), standardConformingStrings());
    pending = pending.plus(facts.writes());
    if (!s.transactionMode && !c.classification().isPlain() && !followed(c.classification())) {
      stateChanged = true;
    }
    Cacheability read = facts.read();
    CacheDecision blocked = read.cacheable() ? blocked() : null;
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
      serve(frames, c, new CacheKey(database, context(), request), read);
      return true;
    }
    s.dispatch(f, c);
    return true;
  }

  // ---- extended protocol ----

  private boolean parse(Frame f) {
    Parse p = Parse.decode(f.body());
    StatementFacts facts = classifier.facts(p.query(), standardConformingStrings());
    if (p.name().isEmpty()) {
      unnamedWrites = facts.writes();
      unnamedParse = null; // the client replaces the unnamed statement itself
    } else {
      namedWrites.merge(p.name(), facts.writes(), WriteTargets::plus);
    }
    if (!facts.read().cacheable()) {
      cache.decisions().recordUncacheable(facts.read());
      return false;
    }
    CacheDecision blocked = blocked();
    if (blocked == null && (!p.name().isEmpty() || !linkedInSessionMode())) {
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
    Bind b = Bind.decode(f.body());
    pending =
        pending.plus(
            b.statement().isEmpty()
                ? unnamedWrites
                : namedWrites.getOrDefault(b.statement(), WriteTargets.none()));
    if (b.statement().isEmpty() || !b.portal().isEmpty() || !s.statements.has(b.statement())) {
      restoreUnnamed(b.statement().isEmpty());
      return false;
    }
    if (!linkedInSessionMode()) {
      return false;
    }
    CacheDecision blocked = blocked();
    if (blocked != null) {
      cache.decisions().record(blocked);
      return false;
    }
    startBatch(f);
    return true;
  }

  private void startBatch(Frame f) {
    gathering = true;
    batch.add(f);
    batchBytes = f.size();
  }

  /** The next message of a batch being gathered. */
  private boolean gather(Frame f) {
    FrontendType type = FrontendType.of(f.type());
    boolean fits =
        batch.size() < MAX_BATCH_FRAMES
            && batchBytes + f.size() <= MAX_BATCH_BYTES
            && switch (type) {
              case BIND -> {
                Bind b = Bind.decode(f.body());
                pending =
                    pending.plus(
                        b.statement().isEmpty()
                            ? unnamedWrites
                            : namedWrites.getOrDefault(b.statement(), WriteTargets.none()));
                yield !has(FrontendType.BIND)
                    && b.portal().isEmpty()
                    && b.statement().isEmpty()
                    && has(FrontendType.PARSE);
              }
              case DESCRIBE -> {
                Describe d = Describe.decode(f.body());
                yield d.name().isEmpty()
                    && !has(FrontendType.EXECUTE)
                    && (!d.isStatement() || has(FrontendType.PARSE));
              }
              case EXECUTE -> has(FrontendType.BIND) && !has(FrontendType.EXECUTE) && allRows(f);
              case SYNC -> has(FrontendType.EXECUTE);
              default -> false;
            };
    if (!fits) {
      return breakBatch(f);
    }
    batch.add(f);
    batchBytes += f.size();
    if (type == FrontendType.SYNC) {
      decideBatch();
    }
    return true;
  }

  private boolean has(FrontendType type) {
    for (Frame f : batch) {
      if (f.type() == type.code()) {
        return true;
      }
    }
    return false;
  }

  /** An Execute of the unnamed portal with no row limit. */
  private static boolean allRows(Frame f) {
    ByteBuf body = f.body();
    int at = body.readerIndex();
    return body.readableBytes() == 5 && body.getByte(at) == 0 && body.getInt(at + 1) == 0;
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
    gathering = false;
    List<Frame> frames = new ArrayList<>(batch);
    batch.clear();
    for (Frame f : frames) {
      s.dispatch(f, Classified.NONE);
    }
  }

  private void decideBatch() {
    Frame first = batch.get(0);
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
    Cacheability read = classifier.facts(sql, standardConformingStrings()).read();
    CacheDecision blocked = read.cacheable() ? blocked() : null;
    if (!read.cacheable() || blocked != null) {
      if (blocked != null) {
        cache.decisions().record(blocked);
      } else {
        cache.decisions().recordUncacheable(read);
      }
      dispatchBatch();
      return;
    }
    gathering = false;
    List<Frame> frames = new ArrayList<>(batch);
    batch.clear();
    serve(
        frames,
        Classified.NONE,
        new CacheKey(database, context(), batchKey(frames, sql, types)),
        read);
  }

  /**
   * The batch with its names taken out: the statement's text and parameter types, then each
   * message's type and what in it changes the answer (Bind's formats and values, Describe's kind).
   */
  private static byte[] batchKey(List<Frame> frames, String sql, int[] types) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(256);
    byte[] text = sql.getBytes(StandardCharsets.UTF_8);
    writeInt(out, text.length);
    out.write(text, 0, text.length);
    writeInt(out, types.length);
    for (int t : types) {
      writeInt(out, t);
    }
    for (Frame f : frames) {
      out.write(f.type());
      ByteBuf body = f.body();
      if (f.type() == FrontendType.BIND.code()) {
        int start = body.readerIndex();
        int afterPortal = body.indexOf(start, body.writerIndex(), (byte) 0) + 1;
        int afterStatement = body.indexOf(afterPortal, body.writerIndex(), (byte) 0) + 1;
        byte[] rest = new byte[body.writerIndex() - afterStatement];
        body.getBytes(afterStatement, rest);
        out.write(rest, 0, rest.length);
      } else if (f.type() == FrontendType.DESCRIBE.code()) {
        out.write(body.getByte(body.readerIndex()));
      }
    }
    return out.toByteArray();
  }

  private static void writeInt(ByteArrayOutputStream out, int v) {
    out.write(v >>> 24);
    out.write(v >>> 16);
    out.write(v >>> 8);
    out.write(v);
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

  // ---- when a request may be looked up ----

  /** Null when a request arriving now may be looked up; otherwise why not. */
  private CacheDecision blocked() {
    if (s.transactionMode ? s.gate.pinned() : stateChanged) {
      return CacheDecision.SESSION_STATE;
    }
    boolean unlinked = s.machine.is(ClientState.IDLE) && s.server == null && !s.unlinkedSkip;
    boolean linkedAndQuiet =
        s.machine.is(ClientState.ACTIVE) && s.inFlight.freshBatch() && s.inFlight.quiet();
    if (s.queue.isEmpty() && (unlinked || linkedAndQuiet)) {
      return null;
    }
    return s.inFlight.txStatus() != ReadyForQuery.IDLE
        ? CacheDecision.TRANSACTION
        : CacheDecision.PROTOCOL;
  }

  /**
   * Session mode: whether Sluice still knows the session's settings after this statement. It does
   * when the statement only sets {@code application_name} (not part of the key) or settings the
   * server reports (their new values arrive as ParameterStatus and change the key).
   */
  private boolean followed(Classification c) {
    for (Effect e : c.effects()) {
      if (!(e instanceof Effect.TrackedSet t)
          || !(t.name().equals("application_name")
              || s.pool.reportedSettings().contains(t.name()))) {
        return false;
      }
    }
    return true;
  }

  /** Extended batches are looked up in transaction mode, and in session mode once linked. */
  private boolean linkedInSessionMode() {
    return s.transactionMode || s.machine.is(ClientState.ACTIVE);
  }

  /** See {@link #unnamedParse}: {@code uses} says the message uses the unnamed statement. */
  private void restoreUnnamed(boolean uses) {
    if (!uses || unnamedParse == null || gathering) {
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

  private String context() {
    long v = s.params.version();
    if (context == null || v != contextVersion) {
      context = ResultCache.context(database, user, s.params.desired());
      contextVersion = v;
    }
    return context;
  }

  private boolean standardConformingStrings() {
    return !"off".equalsIgnoreCase(s.params.desired().get("standard_conforming_strings"));
  }

  // ---- writes ----

  /** A ReadyForQuery: when no transaction is open any more, the tables written are news. */
  void afterReady(ReadyForQuery status) {
    if (status == ReadyForQuery.IDLE && !pending.isNone()) {
      publishWrites();
    }
  }

  private void publishWrites() {
    WriteTargets w = pending;
    pending = WriteTargets.none();
    if (w.everything()) {
      cache.schemaChanged(database);
    } else {
      cache.tables(database, w.tables());
    }
  }

  /** The session ends: nothing it holds is answered, and what it may have written is news. */
  void close() {
    s.out.abortCapture();
    batch.forEach(Frame::release);
    batch.clear();
    gathering = false;
    Parked p = parked;
    parked = null;
    if (p != null) {
      p.frames().forEach(Frame::release);
      p.behind().forEach(Frame::release);
    }
    if (!pending.isNone()) {
      publishWrites();
    }
  }
}
