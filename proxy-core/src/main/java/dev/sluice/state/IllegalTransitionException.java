package dev.sluice.state;

/** A state change the connection's table does not allow: a bug in Sluice, never a client's. */
public final class IllegalTransitionException extends IllegalStateException {
  private static final long serialVersionUID = 1L;

  public IllegalTransitionException(Enum<?> from, Enum<?> to) {
    super("illegal transition " + from + " -> " + to);
  }
}
