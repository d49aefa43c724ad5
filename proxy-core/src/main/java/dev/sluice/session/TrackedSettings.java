package dev.sluice.session;

import java.util.Set;

/**
 * Settings whose session-level SET does not pin a client in transaction pooling: Sluice learns the
 * new value and replays it (with {@code set_config}) on whichever backend serves the client next.
 * Everything else a client SETs for its session pins it (or is refused).
 */
public final class TrackedSettings {
  /** Lower-case names. */
  public static final Set<String> NAMES =
      Set.of(
          "application_name",
          "client_encoding",
          "datestyle",
          "timezone",
          "intervalstyle",
          "extra_float_digits",
          "standard_conforming_strings",
          "search_path",
          "statement_timeout",
          "lock_timeout",
          "idle_in_transaction_session_timeout",
          "idle_session_timeout",
          "default_transaction_isolation",
          "default_transaction_read_only",
          "default_transaction_deferrable",
          "bytea_output",
          "xmloption",
          "timezone_abbreviations",
          "work_mem",
          "client_min_messages");

  private TrackedSettings() {}
}
