package dev.sluice.server.invalidation;

/**
 * The server cannot serve an invalidation source and retrying will not change that (wal_level,
 * privileges, version). Its message tells the operator what to change.
 */
final class SourceUnavailableException extends Exception {
  private static final long serialVersionUID = 1L;

  SourceUnavailableException(String reason) {
    super(reason, null, false, false);
  }
}
