package dev.sluice.protocol;

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
 *       violation itself surfaces once as a {@link ProtocolViolationException} (08P01 above).
 * </ul>
 *
 * <p>Limits are checked on the length field, before a byte of the body is buffered. A client's
 * decoder allows only {@value #MAX_LOGIN_MESSAGE} bytes per message until {@link #loginCompleted}
 * (PostgreSQL's cap on password and SASL messages), then the configured maximum. A message over
 * {@value #SMALL_MESSAGE} bytes that is still arriving reserves its length in the process-wide
 * {@link MessageMemory} first; when that is spent, the decoder fires {@link ReadPause#PAUSE} down
 * the pipeline (the connection stops reading) and {@link ReadPause#RESUME} once its reservation is
 * granted.
 */
public final class FrameDecoder extends ByteToMessageDecoder {

  /** Where the decoder is in the stream. */
  public enum State {
    STARTUP,
    MESSAGES,
    FAILED
  }

  /** PostgreSQL's PG_MAX_AUTH_TOKEN_LENGTH: the largest message before login completes. */
  public static final int MAX_LOGIN_MESSAGE = 65_535;

  /**
   * The largest message a backend may send before its login completes. Login messages are small
   * (authentication requests, settings, errors); this bounds what a hostile upstream can make
   * Sluice buffer before it has proved it knows the password.
   */
  public static final int MAX_SERVER_LOGIN_MESSAGE = 1 << 20;

  /** Messages up to this size arriving in pieces need no reservation. */
  static final int SMALL_MESSAGE = 8 * 1024;

  /** Asks the connection to stop, or start again, reading this channel for memory's sake. */
  public enum ReadPause {
    PAUSE,
    RESUME
  }

  private final int maxMessageSize;
  private final int loginLimit;
  private final MessageMemory memory;
  private boolean loginPending;
  private long reserved;
  private MessageMemory.Waiter waiter;
  private long waiterToken;
  private boolean removed;
  private final boolean[] passThrough = new boolean[256];
  private final String limitName;
  private State state;

  private FrameDecoder(
      State initial,
      int maxMessageSize,
      int loginLimit,
      MessageMemory memory,
      String limitName,
      byte... passThrough) {
    this.state = initial;
    this.maxMessageSize = maxMessageSize;
    this.loginLimit = Math.min(loginLimit, maxMessageSize);
    this.memory = memory;
    this.loginPending = true;
    this.limitName = limitName;
    for (byte b : passThrough) {
      this.passThrough[b & 0xFF] = true;
    }
  }

  /**
   * Decoder for a client connection: startup phase first, CopyData passed through in runs, the
   * login limit until {@link #loginCompleted}, large incomplete messages reserved in {@code
   * memory}.
   */
  public static FrameDecoder forClient(int maxMessageSize, MessageMemory memory) {
    return new FrameDecoder(
        State.STARTUP,
        maxMessageSize,
        MAX_LOGIN_MESSAGE,
        memory,
        "--max-message-size " + maxMessageSize,
        FrontendType.COPY_DATA.code());
  }

  /** A client decoder with no shared memory budget (tests). */
  public static FrameDecoder forClient(int maxMessageSize) {
    return forClient(maxMessageSize, MessageMemory.unlimited());
  }

  /**
   * Decoder for a backend connection: DataRow and CopyData passed through in runs, at most {@value
   * #MAX_SERVER_LOGIN_MESSAGE} bytes per message until {@link #loginCompleted}.
   */
  public static FrameDecoder forServer(int maxMessageSize) {
    return new FrameDecoder(
        State.MESSAGES,
        maxMessageSize,
        MAX_SERVER_LOGIN_MESSAGE,
        null,
        "the backend message limit " + maxMessageSize,
        BackendType.DATA_ROW.code(),
        BackendType.COPY_DATA.code());
  }

  public State state() {
    return state;
  }

  /** The peer has logged in: its messages may now be as large as the configured maximum. */
  public void loginCompleted() {
    loginPending = false;
  }

  /** Bytes this decoder holds reserved in the shared budget (0 or one message's length). */
  public long reserved() {
    return reserved;
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    switch (state) {
      case STARTUP -> decodeStartup(in, out);
      case MESSAGES -> decodeMessages(ctx, in, out);
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

  private void decodeMessages(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    int start = in.readerIndex();
    int pos = start;
    int end = in.writerIndex();
    int runStart = -1;
    int limit = loginPending ? loginLimit : maxMessageSize;
    while (end - pos >= 5) {
      byte type = in.getByte(pos);
      int length = in.getInt(pos + 1);
      if (type == Frame.RUN || type == Frame.STARTUP) {
        // No message has type 0x00 or 0xFF, and a frame of that type would pass for a run of
        // CopyData or a startup packet: a second StartupMessage after login (whose first byte is
        // 0x00) would be relayed to the backend as if it were COPY data.
        fail(in, "invalid message type " + (type & 0xFF));
      }
      if (length < 4) {
        fail(in, "invalid message length " + length + " for message type '" + (char) type + "'");
      }
      if (length > limit) {
        fail(
            in,
            "message of "
                + length
                + " bytes (type '"
                + (char) type
                + "') exceeds the limit of "
                + (loginPending ? loginLimit + " bytes before login" : limitName));
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
    if (memory == null) {
      return;
    }
    if (pos > start) {
      // The first message was the one (if any) a reservation or a wait was for.
      firstMessageDone(ctx);
    }
    if (end - pos >= 5) {
      reserveFor(ctx, 1L + in.getInt(pos + 1), end - pos);
    }
  }

  private void firstMessageDone(ChannelHandlerContext ctx) {
    if (reserved > 0) {
      memory.release(reserved);
      reserved = 0;
    }
    if (waiter != null) {
      // It arrived before reading stopped; a grant racing with this cancel releases itself.
      memory.cancel(waiter);
      waiter = null;
      ctx.fireUserEventTriggered(ReadPause.RESUME);
    }
  }

  /** A message of {@code size} bytes is partly here: reserve it, or stop reading until we can. */
  private void reserveFor(ChannelHandlerContext ctx, long size, int have) {
    if (size <= SMALL_MESSAGE || size <= have || reserved > 0 || waiter != null) {
      return;
    }
    if (memory.tryReserve(size)) {
      reserved = size;
      return;
    }
    long token = ++waiterToken;
    waiter = memory.await(size, () -> ctx.executor().execute(() -> granted(ctx, token, size)));
    ctx.fireUserEventTriggered(ReadPause.PAUSE);
  }

  private void granted(ChannelHandlerContext ctx, long token, long size) {
    if (removed || waiter == null || token != waiterToken) {
      memory.release(size);
      return;
    }
    waiter = null;
    reserved = size;
    ctx.fireUserEventTriggered(ReadPause.RESUME);
  }

  @Override
  protected void handlerRemoved0(ChannelHandlerContext ctx) {
    removed = true;
    if (memory == null) {
      return;
    }
    if (reserved > 0) {
      memory.release(reserved);
      reserved = 0;
    }
    if (waiter != null) {
      memory.cancel(waiter);
      waiter = null;
    }
  }

  private void fail(ByteBuf in, String message) {
    state = State.FAILED;
    in.skipBytes(in.readableBytes());
    throw new ProtocolViolationException(message);
  }
}
