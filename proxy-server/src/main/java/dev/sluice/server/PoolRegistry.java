package dev.sluice.server;

import java.util.Collection;
import java.util.concurrent.ConcurrentHashMap;

/** The pools, one per (database, user), created on first use. */
final class PoolRegistry {
  private final ConcurrentHashMap<PoolKey, ServerPool> pools = new ConcurrentHashMap<>();
  private final ProxyContext ctx;

  PoolRegistry(ProxyContext ctx) {
    this.ctx = ctx;
  }

  ServerPool get(PoolKey key) {
    return pools.computeIfAbsent(key, k -> new ServerPool(k, ctx));
  }

  Collection<ServerPool> all() {
    return pools.values();
  }
}
