package dev.sluice.protocol;

import io.netty.buffer.ByteBuf;

/**
 * One or more complete protocol messages as they arrived, header included, held as a retained slice
 * of the receive buffer (no copy). A frame is either a single message ({@link #type()} is its type
 * byte) or a run of consecutive pass-through messages that Sluice never reads, such as DataRow or
 * CopyData ({@link #isRun()}), so a large result costs one object per read rather than one per row.
 * Startup-phase packets, which have no type byte, use {@link #STARTUP}.
 *
 * <p>The frame's holder owns {@link #buf()}: it either writes the buffer onwards (which hands the
 * reference over) or calls {@link #release()}.
 *
 * @param type the message type byte, {@link #RUN} or {@link #STARTUP}
 * @param buf the whole message(s), header included
 */
public record Frame(byte type, ByteBuf buf) {
  /** Pseudo type of a run of pass-through messages. */
  public static final byte RUN = 0;

  /** Pseudo type of an untyped startup-phase packet (StartupMessage, SSLRequest, ...). */
  public static final byte STARTUP = -1;

  public boolean isRun() {
    return type == RUN;
  }

  /**
   * The body of a single message: a view that starts after the header and ends with the message, so
   * a decoding bug cannot read into the next message.
   */
  public ByteBuf body() {
    int header = type == STARTUP ? 4 : 5;
    return buf.slice(buf.readerIndex() + header, buf.readableBytes() - header);
  }

  /** Total size in bytes, headers included. */
  public int size() {
    return buf.readableBytes();
  }

  public void release() {
    buf.release();
  }

  @Override
  public String toString() {
    String t = isRun() ? "run" : type == STARTUP ? "startup" : Character.toString((char) type);
    return "Frame[" + t + ", " + buf.readableBytes() + " bytes]";
  }
}
