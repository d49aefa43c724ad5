package dev.sluice.protocol.backend;

import dev.sluice.protocol.BackendType;
import io.netty.buffer.ByteBuf;

/** ReadyForQuery: the backend finished a request cycle; its byte is the transaction status. */
public enum ReadyForQuery {
  /** 'I': not in a transaction block. */
  IDLE('I'),
  /** 'T': in a transaction block. */
  IN_TRANSACTION('T'),
  /** 'E': in a failed transaction block; queries are rejected until it ends. */
  FAILED_TRANSACTION('E'),
  /** Any other status byte; treated like a transaction in progress, never as idle. */
  UNKNOWN('?');

  private final byte status;

  ReadyForQuery(char status) {
    this.status = (byte) status;
  }

  public byte status() {
    return status;
  }

  /** Reads the status byte of a whole ReadyForQuery frame (header included). */
  public static ReadyForQuery ofFrame(ByteBuf frame) {
    if (frame.readableBytes() != 6) {
      return UNKNOWN;
    }
    return of(frame.getByte(frame.readerIndex() + 5));
  }

  public static ReadyForQuery of(byte b) {
    return switch (b) {
      case 'I' -> IDLE;
      case 'T' -> IN_TRANSACTION;
      case 'E' -> FAILED_TRANSACTION;
      default -> UNKNOWN;
    };
  }

  public void encode(ByteBuf out) {
    out.writeByte(BackendType.READY_FOR_QUERY.code());
    out.writeInt(5);
    out.writeByte(this == UNKNOWN ? 'I' : status);
  }
}
