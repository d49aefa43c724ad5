package dev.sluice.protocol;

/** Message type bytes a server (backend) sends, named as in the PostgreSQL protocol chapter. */
public enum BackendType {
  AUTHENTICATION('R'),
  BACKEND_KEY_DATA('K'),
  BIND_COMPLETE('2'),
  CLOSE_COMPLETE('3'),
  COMMAND_COMPLETE('C'),
  COPY_DATA('d'),
  COPY_DONE('c'),
  COPY_IN_RESPONSE('G'),
  COPY_OUT_RESPONSE('H'),
  COPY_BOTH_RESPONSE('W'),
  DATA_ROW('D'),
  EMPTY_QUERY_RESPONSE('I'),
  ERROR_RESPONSE('E'),
  FUNCTION_CALL_RESPONSE('V'),
  NEGOTIATE_PROTOCOL_VERSION('v'),
  NO_DATA('n'),
  NOTICE_RESPONSE('N'),
  NOTIFICATION_RESPONSE('A'),
  PARAMETER_DESCRIPTION('t'),
  PARAMETER_STATUS('S'),
  PARSE_COMPLETE('1'),
  PORTAL_SUSPENDED('s'),
  READY_FOR_QUERY('Z'),
  ROW_DESCRIPTION('T'),
  /** Any byte the protocol does not define for a backend. */
  UNKNOWN('\0');

  private static final BackendType[] BY_BYTE = new BackendType[128];

  static {
    for (BackendType t : values()) {
      if (t != UNKNOWN) {
        BY_BYTE[t.code] = t;
      }
    }
  }

  private final char code;

  BackendType(char code) {
    this.code = code;
  }

  public byte code() {
    return (byte) code;
  }

  public static BackendType of(byte b) {
    BackendType t = b >= 0 ? BY_BYTE[b] : null;
    return t == null ? UNKNOWN : t;
  }
}
