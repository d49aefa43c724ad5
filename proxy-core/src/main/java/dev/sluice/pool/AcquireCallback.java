package dev.sluice.pool;

/**
 * Receives the outcome of an acquire on the waiter's executor: exactly one of a connection or a
 * failure. A callback that no longer wants the connection (its client left) must release it.
 */
@FunctionalInterface
public interface AcquireCallback<C> {
  void done(C connection, Throwable failure);
}
