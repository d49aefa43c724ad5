package dev.sluice.server;

import dev.sluice.engine.DataRows;
import dev.sluice.logging.ConnLog;
import dev.sluice.protocol.BackendType;
import dev.sluice.protocol.Frame;
import dev.sluice.protocol.backend.ErrorResponse;
import dev.sluice.protocol.backend.ReadyForQuery;
import dev.sluice.protocol.frontend.Query;
import io.netty.buffer.ByteBuf;
import java.util.List;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

/**
 * Queries Sluice runs on a backend nobody holds (reset after a session, rollback after a client
 * left mid-transaction, a check of a client's startup settings). Each query is its own simple Query
 * message, because commands such as {@code DISCARD ALL} refuse to run inside the implicit
 * transaction of a multi-statement string. The outcome runs on the backend's event loop.
 */
final class InternalQuery implements ServerConnection.Sink {
  private static final Logger log = LoggerFactory.getLogger(InternalQuery.class);

  /**
   * @param ok every query succeeded and the backend ended idle
   * @param idle the backend is open and its last ReadyForQuery said idle (no transaction open),
   *     whether or not a query failed
   * @param firstError the first error the server reported, or null
   * @param firstRow the text columns of the first DataRow, empty if none
   */
  record Result(boolean ok, boolean idle, ErrorResponse firstError, List<String> firstRow) {}

  private final Consumer<Result> done;
  private final boolean logErrors;
  private int remaining;
  private ErrorResponse firstError;
  private List<String> firstRow = List.of();
  private boolean rowSeen;
  private boolean idle;
  private boolean finished;

  private InternalQuery(int count, boolean logErrors, Consumer<Result> done) {
    this.remaining = count;
    this.logErrors = logErrors;
    this.done = done;
  }

  /** Runs {@code queries}; an error is logged (throttled) as a failed reset. */
  static void run(ServerConnection s, List<String> queries, Consumer<Result> done) {
    start(s, queries, true, done);
  }

  /** Runs one query whose error is an expected answer (a check), not worth a log line. */
  static void check(ServerConnection s, String query, Consumer<Result> done) {
    start(s, List.of(query), false, done);
  }

  private static void start(
      ServerConnection s, List<String> queries, boolean logErrors, Consumer<Result> done) {
    if (queries.isEmpty()) {
      boolean open = s.isOpen();
      done.accept(new Result(open, open, null, List.of()));
      return;
    }
    InternalQuery q = new InternalQuery(queries.size(), logErrors, done);
    s.attach(q);
    for (String sql : queries) {
      ByteBuf out = s.channel().alloc().buffer(sql.length() + 8);
      new Query(sql).encode(out);
      s.write(out);
    }
    s.flush();
    if (!s.isOpen()) {
      q.finish();
    }
  }

  @Override
  public void onServerFrames(ServerConnection s, List<Frame> frames) {
    for (Frame f : frames) {
      try {
        if (f.type() == BackendType.ERROR_RESPONSE.code()) {
          ErrorResponse e = ErrorResponse.decode(f.body());
          if (firstError == null) {
            firstError = e;
          }
          if (logErrors) {
            ConnLog.throttled(
                s.pool().logThrottle(),
                Level.INFO,
                log,
                s.id(),
                "reset query failed",
                "{}",
                e.summary());
          }
        } else if (f.isRun() && !rowSeen) {
          rowSeen = true;
          firstRow = DataRows.firstRowText(f.buf());
        } else if (f.type() == BackendType.READY_FOR_QUERY.code()) {
          idle = ReadyForQuery.ofFrame(f.buf()) == ReadyForQuery.IDLE;
          if (--remaining == 0) {
            idle &= s.isOpen();
            finish();
          }
        }
      } finally {
        f.release();
      }
    }
  }

  @Override
  public void onServerWritable(ServerConnection s) {}

  @Override
  public void onServerClosed(ServerConnection s) {
    idle = false;
    remaining = -1;
    finish();
  }

  private void finish() {
    if (!finished) {
      finished = true;
      boolean ok = remaining == 0 && idle && firstError == null;
      done.accept(new Result(ok, idle && remaining == 0, firstError, firstRow));
    }
  }
}
