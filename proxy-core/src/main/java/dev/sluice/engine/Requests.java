package dev.sluice.engine;

import dev.sluice.error.SqlState;
import dev.sluice.protocol.Frame;
import dev.sluice.protocol.FrontendType;
import dev.sluice.protocol.Severity;
import dev.sluice.protocol.backend.ErrorResponse;
import dev.sluice.protocol.frontend.Parse;
import dev.sluice.protocol.frontend.Query;
import dev.sluice.session.ClientStatements;
import dev.sluice.session.sql.Classification;
import io.netty.buffer.ByteBuf;

/**
 * The request path of one client session, in its stages: <b>classify</b> a Query or Parse text
 * once; <b>admit</b> it (the session-state gate may pin the client or refuse the statement);
 * <b>answer locally</b> what needs no backend (a Parse the backend already has, Close, DEALLOCATE,
 * requests after a refusal up to the Sync); <b>rewrite</b> client statement names to the backend's;
 * <b>send</b>, recording what the backend will answer in {@link InFlight}.
 *
 * <p>Every answer Sluice gives itself takes its place in {@link InFlight} like a request to the
 * backend, so it reaches the client in protocol order ({@link Replies#emitSynthetic}).
 */
final class Requests {
  // Statements that fail on purpose, in the server's log too, so they say why there.
  private static final String FAIL_BATCH_SQL =
      "SELECT \"sluice: the proxy answered this batch with an error; failing it here the same way\"";
  private static final String REFUSED_SQL =
      "SELECT \"sluice: statement refused by the proxy (--session-state reject)\"";

  private final ClientSession s;
  private final LocalAnswers local;
  private final StatementRewrite rewrite;

  Requests(ClientSession s) {
    this.s = s;
    this.local = new LocalAnswers(s, this);
    this.rewrite = new StatementRewrite(s, this);
  }

  /** See {@link StatementRewrite#statementContext}. */
  String statementContext() {
    return rewrite.statementContext();
  }

  /** See {@link LocalAnswers#withoutBackend}. */
  Classified answerWithoutBackend(Frame f, Classified known) {
    return local.withoutBackend(f, known);
  }

  /** One client message to the linked backend, through the stages. */
  void forward(Frame f, Classified known) {
    FrontendType type = f.isRun() ? FrontendType.COPY_DATA : FrontendType.of(f.type());
    InFlight inFlight = s.inFlight;
    if (inFlight.discardingUntilSync() && type != FrontendType.SYNC) {
      f.release();
      return;
    }
    if (s.transactionMode && !s.replaying) {
      s.retry.offer(f, type, inFlight.freshBatch());
    }
    switch (type) {
      case QUERY -> forwardQuery(f, known);
      case FUNCTION_CALL -> send(f, Expected.FUNCTION_CALL);
      case PARSE -> rewrite.parse(f, known);
      case BIND -> rewrite.bind(f);
      case DESCRIBE -> rewrite.describe(f);
      case EXECUTE -> sendExtended(f, Expected.EXECUTE);
      case CLOSE -> rewrite.close(f);
      case SYNC -> forwardSync(f);
      case FLUSH -> send(f, null);
      case COPY_DONE, COPY_FAIL -> {
        inFlight.copyIn(false);
        send(f, null);
      }
      default -> send(f, null);
    }
  }

  // ---- classify ----

  /** The classify stage: the text of a Query and what it does, decoded once. */
  Classified classifyQuery(Frame f) {
    String sql = ClientText.decode(f.body(), s.params.desired().get("client_encoding"));
    return new Classified(sql, s.gate.classify(sql));
  }

  Classification classify(String sql) {
    return s.gate.classify(sql);
  }

  // ---- send ----

  void send(Frame f, Expected e) {
    s.server.write(f.buf());
    s.wroteToServer = true;
    if (e != null) {
      s.inFlight.add(e);
    }
  }

  void sendExtended(Frame f, Expected e) {
    s.inFlight.extendedOpen(true);
    send(f, e);
  }

  /** A message Sluice built (a renamed Bind, a hidden Parse, ...). */
  void sendOwn(ByteBuf buf, Expected e) {
    s.server.write(buf);
    s.wroteToServer = true;
    s.inFlight.add(e);
  }

  /**
   * A Parse the client sent once and Sluice answered from the cache, sent now so the backend has
   * the statement the client will use; its answer is hidden (an error is the client's).
   */
  void sendHiddenParse(ByteBuf parse) {
    s.inFlight.extendedOpen(true);
    sendOwn(parse, Expected.hiddenParse(null));
  }

  ByteBuf buffer(int size) {
    return s.out.port().alloc().buffer(size);
  }

  private void forwardSync(Frame f) {
    if (s.inFlight.copyIn()) {
      // The server ignores Sync during COPY IN and sends no ReadyForQuery for it.
      send(f, null);
      return;
    }
    s.inFlight.discardUntilSync(false);
    s.inFlight.extendedOpen(false);
    send(f, Expected.SYNC);
    rewrite.closeEvictedStatements();
  }

  // ---- Query ----

  private void forwardQuery(Frame f, Classified known) {
    if (!s.transactionMode) {
      send(f, Expected.QUERY);
      return;
    }
    Classified c = known.known() ? known : classifyQuery(f);
    if (!admit(c.classification(), true)) {
      f.release();
      return;
    }
    if (local.deallocate(c)) {
      f.release();
      return;
    }
    send(f, Expected.QUERY);
  }

  // ---- admit ----

  /**
   * Applies what a statement does to session state before it is sent: the client is pinned (or the
   * statement refused, with {@code --session-state reject}) for state that cannot follow it to
   * another backend; tracked settings are noted to read back once the backend is idle.
   *
   * @return false when the statement was refused; the refusal is then queued for the client
   */
  boolean admit(Classification c, boolean simpleQuery) {
    if (!s.transactionMode) {
      return true;
    }
    SessionStateGate.Admission a = s.gate.admit(c, s.pool.reportedSettings());
    if (a.refused()) {
      refuse(a.refusedFor(), simpleQuery);
      return false;
    }
    if (a.pinnedFor() != null) {
      s.stats.pins.increment();
      s.logPinned(a.pinnedFor());
      retireSharedStatements();
    }
    return true;
  }

  /**
   * The backend is this client's alone from now on: the statements Sluice keeps there for the
   * pool's other clients go (closed before this request when no extended batch is open, else at its
   * Sync), so the client's session looks as its own would.
   */
  private void retireSharedStatements() {
    if (s.server == null) {
      return;
    }
    s.server.session().statements().retireAll();
    if (!s.inFlight.extendedOpen()) {
      rewrite.closeEvictedStatements();
    }
  }

  private void refuse(String reason, boolean simpleQuery) {
    s.stats.rejections.increment();
    String message = SessionStateGate.refusal(reason);
    if (!simpleQuery) {
      synthesizeError(
          ErrorResponse.of(
              Severity.ERROR, SqlState.FEATURE_NOT_SUPPORTED.code(), message, null, null));
      return;
    }
    // Sluice's error first, then a query that fails on the backend in its place, so that the
    // ReadyForQuery the client gets reports what PostgreSQL would (a failed block stays failed).
    s.inFlight.add(
        Expected.error(
            ErrorResponse.of(
                Severity.ERROR,
                SqlState.FEATURE_NOT_SUPPORTED.code(),
                message,
                null,
                "Use session pooling for this client, or transaction-scoped forms such as SET"
                    + " LOCAL and pg_advisory_xact_lock.")));
    ByteBuf out = buffer(32);
    new Query(REFUSED_SQL).encode(out);
    sendOwn(out, Expected.REJECTED_QUERY);
    s.replies.emitSynthetic();
  }

  void synthesizeError(ClientStatements.Route.Refuse r) {
    synthesizeError(ErrorResponse.of(Severity.ERROR, r.state().code(), r.message(), null, null));
  }

  /**
   * Answers the current request with {@code error} as PostgreSQL would: the error in its place,
   * then nothing until the client's Sync. A deliberately invalid Parse puts the backend into the
   * same error state, so the ReadyForQuery that ends the batch reports the transaction status
   * PostgreSQL would (a failed transaction block stays failed).
   */
  void synthesizeError(ErrorResponse error) {
    s.inFlight.add(Expected.error(error));
    ByteBuf out = buffer(32);
    new Parse("", FAIL_BATCH_SQL, new int[0]).encode(out);
    sendOwn(out, Expected.HIDDEN_FAIL);
    s.inFlight.discardUntilSync(true);
    s.replies.emitSynthetic();
  }

  /** An answer Sluice owes in place of a request, emitted once everything before it is. */
  void answerInPlace(Expected e) {
    s.inFlight.add(e);
  }
}
