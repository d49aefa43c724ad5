package dev.sluice.protocol;

/**
 * Severities Sluice sends: ERROR keeps the session, FATAL ends it; WARNING is for a NoticeResponse.
 */
public enum Severity {
  WARNING,
  ERROR,
  FATAL
}
