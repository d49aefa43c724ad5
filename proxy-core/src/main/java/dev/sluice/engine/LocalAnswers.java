package dev.sluice.engine;

import dev.sluice.protocol.BackendType;
import dev.sluice.protocol.Frame;
import dev.sluice.protocol.FrontendType;
import dev.sluice.protocol.backend.ReadyForQuery;
import dev.sluice.protocol.frontend.Describe;
import dev.sluice.protocol.frontend.Parse;
import dev.sluice.session.StatementKey;
import dev.sluice.session.sql.Classification;

/**
 * The "answer locally" stage: requests about the client's own named statements that need no
 * backend. Between transactions (no backend held) they are answered at once; with a backend, in
 * their place in the response stream.
 */
final class LocalAnswers {
  private final ClientSession s;
  private final Requests requests;

  LocalAnswers(ClientSession s, Requests requests) {
    this.s = s;
    this.requests = requests;
  }

  /**
   * Answers, without a backend, what needs none: a Parse of a statement some backend of this pool
   * has already prepared (so it is known to parse), the Close of a client's statement, a {@code
   * DEALLOCATE} of one, and a Sync or Flush with nothing of the batch on a backend. Besides saving
   * a backend round trip, this keeps a client that prepares synchronously (libpq's PQprepare,
   * pgbench -M prepared) from waiting for a backend that other clients of the same thread hold in
   * open transactions.
   *
   * @return null when the message was answered (and released); otherwise what the classify stage
   *     learnt of it, to carry along with the message
   */
  Classified withoutBackend(Frame f, Classified known) {
    try {
      return tryWithoutBackend(f, known);
    } catch (RuntimeException e) {
      // a malformed message: released here, the violation ends the session upstream
      f.release();
      throw e;
    }
  }

  private Classified tryWithoutBackend(Frame f, Classified known) {
    FrontendType type = FrontendType.of(f.type());
    switch (type) {
      case PARSE -> {
        return parse(f);
      }
      case CLOSE -> {
        Describe c = Describe.decode(f.body());
        if (!c.isStatement() || c.name().isEmpty()) {
          return Classified.NONE;
        }
        f.release();
        s.statements.close(c.name());
        s.out.empty(BackendType.CLOSE_COMPLETE);
        return null;
      }
      case SYNC -> {
        f.release();
        s.out.ready(ReadyForQuery.IDLE);
        s.out.flush();
        return null;
      }
      case FLUSH -> {
        f.release();
        s.out.flush();
        return null;
      }
      case QUERY -> {
        Classified c = known.known() ? known : requests.classifyQuery(f);
        String name =
            SessionStateGate.ownDeallocate(c.classification(), c.sql(), s.statements::has);
        if (name == null) {
          return c;
        }
        f.release();
        s.statements.remove(name);
        s.out.commandComplete("DEALLOCATE");
        s.out.ready(ReadyForQuery.IDLE);
        s.out.flush();
        return null;
      }
      default -> {
        return Classified.NONE;
      }
    }
  }

  private Classified parse(Frame f) {
    Parse p = Parse.decode(f.body());
    if (p.name().isEmpty()) {
      return Classified.NONE;
    }
    Classification c = requests.classify(p.query());
    Classified learnt = new Classified(p.query(), c);
    if (!c.isPlain()) {
      return learnt;
    }
    if (s.statements.has(p.name())) {
      f.release();
      s.out.error(SessionErrors.duplicateStatement(p.name()));
      s.unlinkedSkip = true;
      return null;
    }
    StatementKey key = new StatementKey(p.query(), p.parameterTypes(), requests.statementContext());
    if (!s.pool.isKnownStatement(key)) {
      return learnt;
    }
    f.release();
    s.stats.clientParses.increment();
    s.statements.define(p.name(), key);
    s.out.empty(BackendType.PARSE_COMPLETE);
    return null;
  }

  /**
   * {@code DEALLOCATE name} of one of the client's own protocol-level statements, with a backend
   * linked: a server-side name the backend does not know by the client's name, so Sluice answers
   * it, in its place.
   */
  boolean deallocate(Classified c) {
    String name = SessionStateGate.ownDeallocate(c.classification(), c.sql(), s.statements::has);
    if (name == null) {
      return false;
    }
    s.statements.remove(name);
    requests.answerInPlace(Expected.commandComplete("DEALLOCATE"));
    requests.answerInPlace(Expected.SYNTH_READY);
    s.replies.emitSynthetic();
    return true;
  }
}
