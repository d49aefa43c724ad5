package dev.sluice.engine;

import dev.sluice.error.SqlState;
import dev.sluice.protocol.Frame;
import dev.sluice.protocol.FrontendType;
import dev.sluice.protocol.backend.ErrorResponse;
import dev.sluice.protocol.frontend.Bind;
import dev.sluice.protocol.frontend.Describe;
import dev.sluice.protocol.frontend.Parse;
import dev.sluice.protocol.frontend.Sync;
import dev.sluice.session.ClientStatements;
import dev.sluice.session.StatementKey;
import dev.sluice.session.sql.Classification;
import io.netty.buffer.ByteBuf;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The "rewrite" stage (transaction mode): a client's named statements are its own, mapped to
 * statements each backend holds under Sluice's names, shared by every client that prepares the same
 * text. Parse, Bind, Describe and Close of a named statement are renamed on the way, the statement
 * prepared first (hidden) on a backend that lacks it, or answered by Sluice in place.
 */
final class StatementRewrite {
  private final ClientSession s;
  private final Requests r;

  StatementRewrite(ClientSession s, Requests r) {
    this.s = s;
    this.r = r;
  }

  void parse(Frame f, Classified known) {
    Parse p;
    try {
      p = Parse.decode(f.body());
    } catch (RuntimeException e) {
      f.release();
      throw e;
    }
    InFlight inFlight = s.inFlight;
    if (s.transactionMode) {
      Classification c = known.known() ? known.classification() : r.classify(p.query());
      if (!r.admit(c, false)) {
        f.release();
        inFlight.extendedOpen(true);
        return;
      }
    }
    if (!s.transactionMode
        && s.cache != null
        && !p.name().isEmpty()
        && !s.statements.has(p.name())) {
      // Session mode with the cache: the client's statements are tracked so that an execution of
      // one can be looked up; a Parse that fails forgets its name again (Replies#undo).
      StatementKey key = new StatementKey(p.query(), p.parameterTypes(), statementContext());
      s.statements.define(p.name(), key);
      r.sendExtended(f, Expected.parse(key, p.name()));
      return;
    }
    if (!s.transactionMode || p.name().isEmpty()) {
      r.sendExtended(f, Expected.PARSE);
      return;
    }
    f.release();
    inFlight.extendedOpen(true);
    s.stats.clientParses.increment();
    StatementKey key = new StatementKey(p.query(), p.parameterTypes(), statementContext());
    ClientStatements.Route route =
        s.statements.parse(p.name(), key, s.server.session().statements());
    if (route instanceof ClientStatements.Route.Refuse refuse) {
      r.synthesizeError(refuse);
    } else if (route instanceof ClientStatements.Route.Send send) {
      s.stats.serverParses.increment();
      ByteBuf out = r.buffer(p.query().length() + 32);
      new Parse(send.serverName(), p.query(), p.parameterTypes()).encode(out);
      r.sendOwn(out, Expected.parse(key, p.name()));
    } else {
      // the backend already has it: ParseComplete from Sluice, in its place
      inFlight.add(Expected.synthParse(key, p.name()));
      s.replies.emitSynthetic();
    }
  }

  void bind(Frame f) {
    String statement;
    try {
      statement = Bind.decode(f.body()).statement();
    } catch (RuntimeException e) {
      f.release();
      throw e;
    }
    if (!s.transactionMode || statement.isEmpty()) {
      r.sendExtended(f, Expected.BIND);
      return;
    }
    s.inFlight.extendedOpen(true);
    ClientStatements.Route.Send send =
        sendUnderServerName(statement, Bind.resultFormatCount(f.body()) > 1);
    if (send == null) {
      f.release();
      return;
    }
    ByteBuf renamed = Bind.renameStatement(s.out.port().alloc(), f.body(), send.serverName());
    f.release();
    r.sendOwn(renamed, Expected.bind(send.key()));
  }

  void describe(Frame f) {
    Describe d;
    try {
      d = Describe.decode(f.body());
    } catch (RuntimeException e) {
      f.release();
      throw e;
    }
    if (!d.isStatement()) {
      r.sendExtended(f, Expected.DESCRIBE_PORTAL);
      return;
    }
    if (!s.transactionMode || d.name().isEmpty()) {
      r.sendExtended(f, Expected.DESCRIBE_STATEMENT);
      return;
    }
    f.release();
    s.inFlight.extendedOpen(true);
    ClientStatements.Route.Send send = sendUnderServerName(d.name(), false);
    if (send == null) {
      return;
    }
    ByteBuf out = r.buffer(send.serverName().length() + 8);
    new Describe(Describe.STATEMENT, send.serverName()).encode(out, FrontendType.DESCRIBE.code());
    r.sendOwn(out, Expected.DESCRIBE_STATEMENT);
  }

  void close(Frame f) {
    Describe c;
    try {
      c = Describe.decode(f.body());
    } catch (RuntimeException e) {
      f.release();
      throw e;
    }
    if (!s.transactionMode || !c.isStatement() || c.name().isEmpty()) {
      r.sendExtended(f, Expected.CLOSE);
      return;
    }
    f.release();
    s.inFlight.extendedOpen(true);
    StatementKey key = ((ClientStatements.Route.Answer) s.statements.close(c.name())).key();
    s.inFlight.add(
        key == null ? Expected.SYNTH_CLOSE_COMPLETE : Expected.synthClose(key, c.name()));
    s.replies.emitSynthetic();
  }

  /**
   * Routes a Bind or Describe of the client's statement {@code clientName} on the linked backend:
   * its server-side name there, after preparing it there (hidden from the client) when this backend
   * lacks it; null after answering 26000 when the client has no such statement.
   */
  private ClientStatements.Route.Send sendUnderServerName(
      String clientName, boolean perColumnFormats) {
    ClientStatements.Route route =
        s.statements.use(clientName, s.server.session().statements(), perColumnFormats);
    if (route instanceof ClientStatements.Route.Stale) {
      r.synthesizeError(stalePlan());
      return null;
    }
    if (!(route instanceof ClientStatements.Route.Send send)) {
      r.synthesizeError((ClientStatements.Route.Refuse) route);
      return null;
    }
    if (send.prepareFirst()) {
      s.stats.serverParses.increment();
      StatementKey key = send.key();
      ByteBuf out = r.buffer(key.query().length() + 32);
      new Parse(send.serverName(), key.query(), key.parameterTypes()).encode(out);
      r.sendOwn(out, Expected.hiddenParse(key));
    }
    return send;
  }

  /**
   * PostgreSQL's own error for a statement whose result shape changed under it, routine included:
   * drivers (pgjdbc) recognize it by its SQLSTATE and routine and prepare the statement again.
   */
  private static ErrorResponse stalePlan() {
    Map<Character, String> f = new LinkedHashMap<>();
    f.put(ErrorResponse.SEVERITY, "ERROR");
    f.put(ErrorResponse.SEVERITY_V, "ERROR");
    f.put(ErrorResponse.CODE, SqlState.FEATURE_NOT_SUPPORTED.code());
    f.put(ErrorResponse.MESSAGE, "cached plan must not change result type");
    f.put(ErrorResponse.ROUTINE, "RevalidateCachedQuery");
    return new ErrorResponse(f);
  }

  /** Closes statements the backend's LRU evicted, now that the batch that used them synced. */
  void closeEvictedStatements() {
    if (s.server == null || !s.server.session().statements().hasEvicted()) {
      return;
    }
    List<String> names = s.server.session().statements().takeEvicted();
    for (String name : names) {
      ByteBuf out = r.buffer(name.length() + 8);
      new Describe(Describe.STATEMENT, name).encode(out, FrontendType.CLOSE.code());
      r.sendOwn(out, Expected.HIDDEN_CLOSE);
    }
    ByteBuf sync = r.buffer(5);
    Sync.encode(sync);
    r.sendOwn(sync, Expected.HIDDEN_SYNC);
    s.stats.evictions.add(names.size());
  }

  /**
   * What else decides a statement's meaning besides its text: the search path it resolves names in,
   * and the encoding its bytes are in.
   */
  String statementContext() {
    Map<String, String> d = s.params.desired();
    return d.getOrDefault("search_path", "") + '\u0001' + d.getOrDefault("client_encoding", "");
  }
}
