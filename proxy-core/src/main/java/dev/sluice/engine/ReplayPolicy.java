package dev.sluice.engine;

/**
 * Extension point: whether a batch of which nothing reached the client may be sent again on another
 * backend after its backend went away. The batch is one the session kept anyway (see {@link
 * ReplayBatch}: an extended-protocol batch begun outside any transaction); the session re-sends it
 * through the whole request path, so statement names are mapped afresh. {@link #NEVER} is today's
 * behaviour: the client gets the backend's goodbye or 08006.
 */
@FunctionalInterface
public interface ReplayPolicy {
  /**
   * @param readOnly whether every statement of the batch certainly changes nothing ({@code
   *     dev.sluice.session.sql.ReadOnly})
   */
  boolean replayAfterBackendLoss(boolean readOnly);

  /** Never: the client hears of the lost backend. */
  ReplayPolicy NEVER = readOnly -> false;

  /** Read-only batches only: running one twice cannot be told from running it once. */
  ReplayPolicy READ_ONLY = readOnly -> readOnly;
}
