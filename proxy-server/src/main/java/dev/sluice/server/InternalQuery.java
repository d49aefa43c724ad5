package dev.sluice.server;

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

/**
 * Queries Sluice runs on a backend nobody holds (reset after a session, rollback after a client
 * left mid-transaction). Each query is its own simple Query message, because commands such as
 * {@code DISCARD ALL} refuse to run inside the implicit transaction of a multi-statement string.
 * The outcome is true when every query succeeded and the backend ended idle.
 */
final class InternalQuery implements ServerConnection.Sink {
  private static final Logger log = LoggerFactory.getLogger(InternalQuery.class);

  private final Consumer<Boolean> done;
  private int remaining;
  private boolean failed;
  private boolean finished;

  private InternalQuery(int count, Consumer<Boolean> done) {
    this.remaining = count;
    this.done = done;
  }

  static void run(ServerConnection s, List<String> queries, Consumer<Boolean> done) {
    if (queries.isEmpty()) {
      done.accept(s.isOpen());
      return;
    }
    InternalQuery q = new InternalQuery(queries.size(), done);
    s.attach(q);
    for (String sql : queries) {
      ByteBuf out = s.channel().alloc().buffer(sql.length() + 8);
      new Query(sql).encode(out);
      s.write(out);
    }
    s.flush();
    if (!s.isOpen()) {
      q.finish(false);
    }
  }

  @Override
  public void onServerFrames(ServerConnection s, List<Frame> frames) {
    for (Frame f : frames) {
      try {
        if (f.type() == BackendType.ERROR_RESPONSE.code()) {
          failed = true;
          ConnLog.info(
              log, s.id(), "reset query failed: {}", ErrorResponse.decode(f.body()).summary());
        } else if (f.type() == BackendType.READY_FOR_QUERY.code()) {
          if (ReadyForQuery.ofFrame(f.buf()) != ReadyForQuery.IDLE) {
            failed = true;
          }
          if (--remaining == 0) {
            finish(!failed);
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
    finish(false);
  }

  private void finish(boolean ok) {
    if (!finished) {
      finished = true;
      done.accept(ok);
    }
  }
}
