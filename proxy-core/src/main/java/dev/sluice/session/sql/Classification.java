package dev.sluice.session.sql;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The session-state effects of a Query or Parse text, statement by statement in order.
 *
 * @param effects the effects; empty for the common case of plain SQL
 */
public record Classification(List<Effect> effects) {
  private static final Classification PLAIN = new Classification(List.of());

  public Classification {
    effects = List.copyOf(effects);
  }

  /** The shared classification of text without effects. */
  public static Classification plain() {
    return PLAIN;
  }

  /** Whether the text leaves no session state behind. */
  public boolean isPlain() {
    return effects.isEmpty();
  }

  /** Whether any statement pins the client to its backend. */
  public boolean hasPin() {
    return firstPin().isPresent();
  }

  public Optional<Effect.Pin> firstPin() {
    for (Effect e : effects) {
      if (e instanceof Effect.Pin pin) {
        return Optional.of(pin);
      }
    }
    return Optional.empty();
  }

  /** The reasons of every pin, in order. */
  public List<String> pinReasons() {
    return effectsOf(Effect.Pin.class).stream().map(Effect.Pin::reason).toList();
  }

  /** The effects of one kind, in order. */
  public <T extends Effect> List<T> effectsOf(Class<T> type) {
    List<T> found = new ArrayList<>();
    for (Effect e : effects) {
      if (type.isInstance(e)) {
        found.add(type.cast(e));
      }
    }
    return found;
  }
}
