package dev.sluice.protocol;

/**
 * Message type bytes a client (frontend) sends, named as in the PostgreSQL protocol chapter. The
 * same byte means a different message in the other direction; see {@link BackendType}.
 */
public enum FrontendType {
  BIND('B'),
  CLOSE('C'),
  COPY_DATA('d'),
  COPY_DONE('c'),
  COPY_FAIL('f'),
  DESCRIBE('D'),
  EXECUTE('E'),
  FLUSH('H'),
  FUNCTION_CALL('F'),
  PARSE('P'),
  /** PasswordMessage, SASLInitialResponse, SASLResponse and GSSResponse all use 'p'. */
  PASSWORD('p'),
  QUERY('Q'),
  SYNC('S'),
  TERMINATE('X'),
  /** Any byte the protocol does not define for a frontend. */
  UNKNOWN('\0');

  private static final FrontendType[] BY_BYTE = new FrontendType[128];

  static {
    for (FrontendType t : values()) {
      if (t != UNKNOWN) {
        BY_BYTE[t.code] = t;
      }
    }
  }

  private final char code;

  FrontendType(char code) {
    this.code = code;
  }

  public byte code() {
    return (byte) code;
  }

  public static FrontendType of(byte b) {
    FrontendType t = b >= 0 ? BY_BYTE[b] : null;
    return t == null ? UNKNOWN : t;
  }
}
