package dev.sluice.protocol;

import dev.sluice.error.SluiceException;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;

/**
 * Splits a byte stream into {@link Frame}s without copying.
 *
 * <p>States:
 *
 * <ul>
 *   <li>{@link State#STARTUP} (client side only): untyped packets, length-prefixed, at most {@link
 *       ProtocolCodes#MAX_STARTUP_PACKET} bytes. An SSLRequest or GSSENCRequest keeps the decoder
 *       here (another startup packet follows); a StartupMessage moves it to {@code MESSAGES}; a
 *       CancelRequest ends decoding. Bytes that arrive together with an SSLRequest are refused
 *       (they would be read before any TLS handshake; the CVE-2021-23214 class).
 *   <li>{@link State#MESSAGES}: typed messages ({@code type, int32 length, body}). Consecutive
 *       messages whose type is marked pass-through are emitted together as one {@link Frame#RUN}.
 *   <li>{@link State#FAILED}: after a protocol violation every further byte is dropped; the
 *       violation itself surfaces once as a {@link SluiceException} with SQLSTATE 08P01.
 * </ul>
 */
public final class FrameDecoder extends ByteToMessageDecoder {

  /** Where the decoder is in the stream. */
  public enum State {
    STARTUP,
    MESSAGES,
    FAILED
  }

  private final int maxMessageSize;
  private final boolean[] passThrough = new boolean[256];
  private final String limitName;
  private State state;

  private FrameDecoder(State initial, int maxMessageSize, String limitName, byte... passThrough) {
    this.state = initial;
    this.maxMessageSize = maxMessageSize;
    this.limitName = limitName;
    for (byte b : passThrough) {
      this.passThrough[b & 0xFF] = true;
    }
  }

  /** Decoder for a client connection: startup phase first, CopyData passed through in runs. */
  public static FrameDecoder forClient(int maxMessageSize) {
    return new FrameDecoder(
        State.STARTUP,
        maxMessageSize,
        "--max-message-size " + maxMessageSize,
        FrontendType.COPY_DATA.code());
  }

  /** Decoder for a backend connection: DataRow and CopyData passed through in runs. */
  public static FrameDecoder forServer(int maxMessageSize) {
    return new FrameDecoder(
        State.MESSAGES,
        maxMessageSize,
        "the backend message limit " + maxMessageSize,
        BackendType.DATA_ROW.code(),
        BackendType.COPY_DATA.code());
  }

  public State state() {
    return state;
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    switch (state) {
      case STARTUP -> decodeStartup(in, out);
      case MESSAGES -> decodeMessages(in, out);
      case FAILED -> in.skipBytes(in.readableBytes());
    }
  }

  private void decodeStartup(ByteBuf in, List<Object> out) {
    if (in.readableBytes() < 4) {
      return;
    }
    int length = in.getInt(in.readerIndex());
    if (length < 8 || length > ProtocolCodes.MAX_STARTUP_PACKET) {
      fail(in, "invalid startup packet length " + length);
    }
    if (in.readableBytes() < length) {
      return;
    }
    int code = in.getInt(in.readerIndex() + 4);
    out.add(new Frame(Frame.STARTUP, in.readRetainedSlice(length)));
    if (code == ProtocolCodes.SSL_REQUEST_CODE || code == ProtocolCodes.GSSENC_REQUEST_CODE) {
      if (in.isReadable()) {
        fail(in, "unexpected data after an encryption request");
      }
    } else if (code == ProtocolCodes.CANCEL_REQUEST_CODE) {
      state = State.FAILED;
      in.skipBytes(in.readableBytes());
    } else {
      state = State.MESSAGES;
    }
  }

  private void decodeMessages(ByteBuf in, List<Object> out) {
    int pos = in.readerIndex();
    int end = in.writerIndex();
    int runStart = -1;
    while (end - pos >= 5) {
      byte type = in.getByte(pos);
      int length = in.getInt(pos + 1);
      if (length < 4) {
        fail(in, "invalid message length " + length + " for message type '" + (char) type + "'");
      }
      if (length > maxMessageSize) {
        fail(
            in,
            "message of "
                + length
                + " bytes (type '"
                + (char) type
                + "') exceeds the limit of "
                + limitName);
      }
      int frameEnd = pos + 1 + length;
      if (frameEnd > end) {
        break;
      }
      if (passThrough[type & 0xFF]) {
        if (runStart < 0) {
          runStart = pos;
        }
      } else {
        if (runStart >= 0) {
          out.add(new Frame(Frame.RUN, in.retainedSlice(runStart, pos - runStart)));
          runStart = -1;
        }
        out.add(new Frame(type, in.retainedSlice(pos, frameEnd - pos)));
      }
      pos = frameEnd;
    }
    if (runStart >= 0) {
      out.add(new Frame(Frame.RUN, in.retainedSlice(runStart, pos - runStart)));
    }
    in.readerIndex(pos);
  }

  private void fail(ByteBuf in, String message) {
    state = State.FAILED;
    in.skipBytes(in.readableBytes());
    throw SluiceException.protocolViolation(message);
  }
}
