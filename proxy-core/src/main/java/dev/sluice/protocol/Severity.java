package dev.sluice.protocol;

/** ErrorResponse severities Sluice sends: ERROR keeps the session, FATAL ends it. */
public enum Severity {
  ERROR,
  FATAL
}
