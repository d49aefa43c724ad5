package dev.sluice.pool;

import java.util.concurrent.CompletionStage;

/** Opens one logged-in backend connection, preferably on the given event loop. */
@FunctionalInterface
public interface Connector<C extends PooledConnection> {
  CompletionStage<C> connect(Object affinity);
}
