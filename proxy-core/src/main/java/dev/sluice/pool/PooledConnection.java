package dev.sluice.pool;

/** What the pool needs to know about a backend connection. */
public interface PooledConnection {

  /** The event loop (or other executor identity) the connection lives on. */
  Object affinity();

  /** False once the connection is closed or broken; the pool then forgets it. */
  boolean isOpen();

  /** Closes the connection; the pool has already forgotten it. Must not block. */
  void close(String reason);
}
