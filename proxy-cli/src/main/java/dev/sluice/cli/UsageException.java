package dev.sluice.cli;

/**
 * The command was used wrongly in a way no single flag value explains: no upstream given anywhere,
 * or a config file that is not a mapping of known keys to single values. Reported as one line with
 * exit status 2, like a bad flag value.
 */
final class UsageException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  UsageException(String message) {
    super(message, null, false, false);
  }
}
