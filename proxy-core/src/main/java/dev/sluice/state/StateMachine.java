package dev.sluice.state;

import java.util.Collections;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;

/**
 * One connection side's state, changed in one place against a table of legal successors. An illegal
 * transition is a bug in Sluice: it throws {@link IllegalTransitionException} at once (so tests
 * fail loudly, and in production only the connection concerned is ended) instead of leaving the
 * connection in a state nothing expects. A listener sees every change, so counts per state (gauges)
 * are true by construction.
 *
 * <p>Not thread-safe: the connection's event loop owns it.
 *
 * @param <S> the states
 */
public final class StateMachine<S extends Enum<S>> {

  /** Sees every transition, after it happened. */
  public interface Listener<S> {
    void changed(S from, S to);
  }

  /** The legal successors of each state; build one per enum, share it. */
  public static final class Table<S extends Enum<S>> {
    private final Map<S, Set<S>> successors;

    private Table(Class<S> type) {
      this.successors = new EnumMap<>(type);
      for (S s : type.getEnumConstants()) {
        successors.put(s, EnumSet.noneOf(type));
      }
    }

    public static <S extends Enum<S>> Table<S> of(Class<S> type) {
      return new Table<>(type);
    }

    /** Declares {@code from → each of to} legal. */
    @SafeVarargs
    public final Table<S> allow(S from, S... to) {
      for (S t : to) {
        successors.get(from).add(t);
      }
      return this;
    }

    public boolean allows(S from, S to) {
      return successors.get(from).contains(to);
    }

    public Set<S> successors(S from) {
      return Collections.unmodifiableSet(successors.get(from));
    }
  }

  private final Table<S> table;
  private final Listener<S> listener;
  private S state;

  public StateMachine(Table<S> table, S initial, Listener<S> listener) {
    this.table = table;
    this.state = initial;
    this.listener = listener;
  }

  public StateMachine(Table<S> table, S initial) {
    this(table, initial, (from, to) -> {});
  }

  public S state() {
    return state;
  }

  public boolean is(S s) {
    return state == s;
  }

  /**
   * Moves to {@code next}.
   *
   * @throws IllegalTransitionException when the table does not allow it
   */
  public void transitionTo(S next) {
    if (!table.allows(state, next)) {
      throw new IllegalTransitionException(state, next);
    }
    S from = state;
    state = next;
    listener.changed(from, next);
  }

  @Override
  public String toString() {
    return state.name();
  }
}
