package dev.sluice.engine;

import dev.sluice.backend.BackendSession;
import io.netty.buffer.ByteBuf;

/**
 * A logged-in backend connection as the client session linked to it uses it. Its frames reach the
 * session through {@link ClientSession#onBackendFrames}, on the client's event loop.
 */
public interface BackendPort {
  /** A short id for logs ({@code s42}). */
  String id();

  /** The settings, statements and state the backend carries. */
  BackendSession session();

  /** Queues bytes for the backend (the reference passes over); nothing is sent before a flush. */
  void write(ByteBuf buf);

  void flush();

  boolean isWritable();

  /** Whether to read the backend: off while the client cannot take more. */
  void setReading(boolean on);

  boolean isOpen();

  /** Closes the connection; the linked session hears of it through onBackendClosed. */
  void close(String reason);
}
