package dev.sluice.protocol;

/** Fixed numbers of the startup phase. */
public final class ProtocolCodes {
  /** Protocol 3.0 as sent in a StartupMessage: major 3 in the high 16 bits, minor 0. */
  public static final int PROTOCOL_3_0 = 3 << 16;

  public static final int CANCEL_REQUEST_CODE = 80877102;
  public static final int SSL_REQUEST_CODE = 80877103;
  public static final int GSSENC_REQUEST_CODE = 80877104;

  /** The largest startup-phase packet Sluice reads, as PostgreSQL's own limit. */
  public static final int MAX_STARTUP_PACKET = 10_000;

  private ProtocolCodes() {}

  public static int major(int version) {
    return version >>> 16;
  }

  public static int minor(int version) {
    return version & 0xFFFF;
  }
}
