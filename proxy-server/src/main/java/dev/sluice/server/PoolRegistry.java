package dev.sluice.server;

import dev.sluice.error.SluiceException;
import dev.sluice.error.SqlState;
import java.util.Collection;
import java.util.concurrent.ConcurrentHashMap;

/** The pools, one per (database, user), created on first use. */
final class PoolRegistry {
  private final ConcurrentHashMap<PoolKey, ServerPool> pools = new ConcurrentHashMap<>();
  private final ProxyContext ctx;

  PoolRegistry(ProxyContext ctx) {
    this.ctx = ctx;
  }

  /**
   * The pool of {@code key}, made on first use.
   *
   * @throws SluiceException 53300 when {@code --max-pools} pools exist already
   */
  ServerPool get(PoolKey key) {
    ServerPool p = pools.get(key);
    if (p != null) {
      return p;
    }
    synchronized (this) {
      if (!pools.containsKey(key) && pools.size() >= ctx.config().maxPools()) {
        throw SluiceException.fatal(
            SqlState.TOO_MANY_CONNECTIONS,
            "sorry, too many pools already (--max-pools " + ctx.config().maxPools() + ")");
      }
      return pools.computeIfAbsent(key, k -> new ServerPool(k, ctx));
    }
  }

  Collection<ServerPool> all() {
    return pools.values();
  }

  /**
   * Runs {@code action} on every pool with no pool made meanwhile: a pool made after this returns
   * sees whatever flag the caller set before calling.
   */
  synchronized void forEachExisting(java.util.function.Consumer<ServerPool> action) {
    pools.values().forEach(action);
  }
}
