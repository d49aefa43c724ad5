package dev.sluice.protocol;

/**
 * Bytes that break the wire protocol: a bad length, a truncated or malformed message. The layers
 * above turn it into PostgreSQL's 08P01 for that connection alone ({@code
 * SluiceException.protocolViolation}); the protocol package itself knows nothing of SQLSTATEs or
 * sessions.
 */
public final class ProtocolViolationException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public ProtocolViolationException(String message) {
    super(message, null, false, false);
  }
}
