package dev.sluice.error;

import dev.sluice.protocol.backend.ErrorResponse;

/**
 * An error the upstream server sent (for example while Sluice logged in on a client's behalf). It
 * is passed to the client whole, with the server's own SQLSTATE and fields.
 */
public final class ServerErrorException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final transient ErrorResponse error;

  public ServerErrorException(ErrorResponse error) {
    super(error.summary(), null, false, false);
    this.error = error;
  }

  public ErrorResponse error() {
    return error;
  }
}
