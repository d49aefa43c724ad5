package dev.sluice.engine;

import dev.sluice.config.SessionStateMode;
import dev.sluice.session.SessionParameters;
import dev.sluice.session.SqlLiteral;
import dev.sluice.session.TrackedSettings;
import dev.sluice.session.sql.Classification;
import dev.sluice.session.sql.Effect;
import dev.sluice.session.sql.SessionStateClassifier;
import dev.sluice.session.sql.SqlLexer;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;

/**
 * What a transaction-mode client's SQL does to session state, and what Sluice does about it: pin
 * the client to its backend for state that cannot follow it (or refuse the statement with {@code
 * --session-state reject}), remember tracked settings it changed so they can be read back and
 * replayed, and notice {@code RESET ALL}. The client session carries out the verdicts. Not
 * thread-safe: the client's event loop owns it.
 */
public final class SessionStateGate {

  /**
   * The verdict on one statement: refused (for {@code refusedFor}), newly pinning the client (for
   * {@code pinnedFor}), or neither.
   */
  public record Admission(String refusedFor, String pinnedFor) {
    public static final Admission PASS = new Admission(null, null);

    public boolean refused() {
      return refusedFor != null;
    }
  }

  private final SessionParameters params;
  private final SessionStateMode mode;
  private final Set<String> pendingCaptures = new LinkedHashSet<>();
  private String pinnedBecause;
  private boolean unresettable;
  private boolean resetAllPending;

  public SessionStateGate(SessionParameters params, SessionStateMode mode) {
    this.params = params;
    this.mode = mode;
  }

  public Classification classify(String sql) {
    boolean scs = !"off".equalsIgnoreCase(params.desired().get("standard_conforming_strings"));
    return SessionStateClassifier.classify(sql, TrackedSettings.NAMES, scs);
  }

  /**
   * Judges a statement about to be sent. {@code reported} are the settings the server reports by
   * itself (no read-back needed for those).
   */
  public Admission admit(Classification c, Set<String> reported) {
    if (c.isPlain()) {
      return Admission.PASS;
    }
    Admission verdict = Admission.PASS;
    var pin = c.firstPin();
    if (pin.isPresent() && pinnedBecause == null) {
      if (mode == SessionStateMode.REJECT) {
        return new Admission(pin.get().reason(), null);
      }
      pinnedBecause = pin.get().reason();
      verdict = new Admission(null, pinnedBecause);
    }
    if (pinnedBecause != null && c.pinReasons().contains("LOAD")) {
      unresettable = true;
    }
    if (pinnedBecause == null) {
      for (Effect.TrackedSet t : c.effectsOf(Effect.TrackedSet.class)) {
        if (!reported.contains(t.name())) {
          pendingCaptures.add(t.name());
        }
      }
    }
    if (!c.effectsOf(Effect.ResetAll.class).isEmpty()) {
      resetAllPending = true;
    }
    return verdict;
  }

  /** Whether the text is exactly one {@code DEALLOCATE} of a statement {@code owned} names. */
  public static String ownDeallocate(Classification c, String sql, Predicate<String> owned) {
    if (c.effects().size() == 1
        && c.effects().get(0) instanceof Effect.Deallocate d
        && !d.isAll()
        && owned.test(d.name())
        && SqlLexer.statements(sql).size() == 1) {
      return d.name();
    }
    return null;
  }

  public boolean pinned() {
    return pinnedBecause != null;
  }

  public String pinnedBecause() {
    return pinnedBecause;
  }

  /** A library was loaded into the backend: no reset undoes that, so it must be closed. */
  public boolean unresettable() {
    return unresettable;
  }

  /** True once after a {@code RESET ALL} went through. */
  public boolean takeResetAll() {
    boolean r = resetAllPending;
    resetAllPending = false;
    return r;
  }

  /** {@code DISCARD ALL}: nothing left to read back. */
  public void discardAll() {
    pendingCaptures.clear();
  }

  /** The tracked settings to read back now, emptied; empty when there are none (or pinned). */
  public List<String> takeCaptures() {
    if (pendingCaptures.isEmpty() || pinnedBecause != null) {
      pendingCaptures.clear();
      return List.of();
    }
    List<String> names = new ArrayList<>(pendingCaptures);
    pendingCaptures.clear();
    return names;
  }

  public boolean hasCaptures() {
    return !pendingCaptures.isEmpty() && pinnedBecause == null;
  }

  /** The query that reads back {@code names}, one column each, NULL for a setting gone. */
  public static String captureQuery(List<String> names) {
    StringBuilder sql = new StringBuilder("SELECT ");
    for (int i = 0; i < names.size(); i++) {
      sql.append(i == 0 ? "" : ", ")
          .append("pg_catalog.current_setting(")
          .append(SqlLiteral.of(names.get(i)))
          .append(", true)");
    }
    return sql.toString();
  }

  /** The 0A000 text of a refusal, naming the construct and the flag. */
  public static String refusal(String reason) {
    return reason
        + " is not allowed in transaction pooling: it would leave session state on a shared"
        + " backend (--session-state reject)";
  }
}
