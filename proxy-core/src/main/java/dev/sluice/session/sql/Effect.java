package dev.sluice.session.sql;

import java.util.Objects;

/**
 * What one statement does to session state that outlives its transaction. Effects describe the
 * statement as written and assume it succeeds; whoever applies them should wait for the statement's
 * CommandComplete.
 */
public sealed interface Effect {

  /**
   * Session state that cannot follow the client to another backend: the client must keep this
   * backend (or the statement must be refused).
   *
   * @param reason the construct, such as {@code "SET ROLE"} or {@code "LISTEN"}; never a value from
   *     the statement, which could be a secret
   */
  record Pin(String reason) implements Effect {
    public Pin {
      Objects.requireNonNull(reason, "reason");
    }
  }

  /**
   * A session-level change of a setting Sluice replays itself ({@code SET}, {@code RESET}, or
   * {@code set_config(name, ..., false)} of a tracked name).
   *
   * @param name the setting's lower-case name
   */
  record TrackedSet(String name) implements Effect {
    public TrackedSet {
      Objects.requireNonNull(name, "name");
    }
  }

  /** {@code RESET ALL}: every setting back to its default. */
  record ResetAll() implements Effect {}

  /**
   * {@code DEALLOCATE [PREPARE] name} or, with a null name, {@code DEALLOCATE [PREPARE] ALL}.
   *
   * @param name the statement name (case-folded unless quoted), or null for all
   */
  record Deallocate(String name) implements Effect {
    public static Deallocate all() {
      return new Deallocate(null);
    }

    public boolean isAll() {
      return name == null;
    }
  }

  /** {@code DISCARD ALL}: the session back to its state at login. */
  record DiscardAll() implements Effect {}
}
