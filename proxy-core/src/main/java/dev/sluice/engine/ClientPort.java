package dev.sluice.engine;

import dev.sluice.protocol.backend.ErrorResponse;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * The client's connection as its session sees it: the socket belongs to the server module's
 * handler, which flushes, reads and closes on the session's behalf. Called on the client's event
 * loop only.
 */
public interface ClientPort {
  ByteBufAllocator alloc();

  /** Queues bytes for the client (the reference passes over); nothing is sent before a flush. */
  void write(ByteBuf buf);

  void flush();

  /** False while the client's outbound buffer is over its high-water mark. */
  boolean isWritable();

  /** The session's wish to read the client (other reasons, such as memory, may still say no). */
  void setReading(boolean on);

  /** Whether the client is being read, for diagnostics. */
  boolean isReading();

  /** Runs {@code task} on this client's event loop (from any thread). */
  default void execute(Runnable task) {
    task.run();
  }

  /** A ReadyForQuery went out, answering a request that arrived {@code nanos} ago. */
  default void answered(long nanos) {}

  /** Sends {@code error} (if any), closes the connection and then the session. */
  void close(CloseReason reason, ErrorResponse error);
}
