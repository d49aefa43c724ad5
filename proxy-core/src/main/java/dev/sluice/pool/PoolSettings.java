package dev.sluice.pool;

import java.time.Duration;

/**
 * Limits of one pool.
 *
 * @param name the pool's name in logs and errors, {@code database/user}
 * @param maxSize never more backends than this, connecting ones included
 * @param minIdle idle backends kept warm (opened at start)
 * @param acquireTimeout how long a waiter waits before a 53300 error
 * @param lifetime backends older than this are closed when idle (up to 10% earlier, at random)
 * @param idleTimeout idle backends beyond {@code minIdle} are closed after this long (same jitter)
 */
public record PoolSettings(
    String name,
    int maxSize,
    int minIdle,
    Duration acquireTimeout,
    Duration lifetime,
    Duration idleTimeout) {}
