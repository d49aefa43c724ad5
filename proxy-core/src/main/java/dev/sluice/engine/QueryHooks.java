package dev.sluice.engine;

import dev.sluice.session.sql.Classification;
import io.netty.buffer.ByteBuf;

/**
 * Extension points on a simple Query's way through a session: answer it with frames from elsewhere
 * (a cache hit), or watch its response as it is relayed (a cache fill). {@link #NONE} does neither;
 * the result cache plugs in here.
 */
public interface QueryHooks {
  /**
   * The complete answer to {@code sql} short of its ReadyForQuery (RowDescription, DataRows,
   * CommandComplete), ownership passing to the session; null to send it to the backend.
   */
  ByteBuf answer(String sql, Classification classification, boolean inTransaction);

  /** Who should see the backend's response to {@code sql}, or null. */
  ResponseCapture capture(String sql, Classification classification);

  QueryHooks NONE =
      new QueryHooks() {
        @Override
        public ByteBuf answer(String sql, Classification c, boolean inTransaction) {
          return null;
        }

        @Override
        public ResponseCapture capture(String sql, Classification c) {
          return null;
        }
      };
}
