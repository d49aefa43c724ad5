package dev.sluice.state;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.backend.BackendSession;
import dev.sluice.backend.BackendState;
import dev.sluice.engine.ClientState;
import dev.sluice.session.StatementGenerations;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The state tables: illegal moves fail loudly, CLOSED is final, every state can be reached. */
class StateMachineTest {

  @Test
  void anIllegalTransitionThrowsAndChangesNothing() {
    List<String> seen = new ArrayList<>();
    StateMachine<ClientState> m =
        new StateMachine<>(
            ClientState.TABLE, ClientState.AWAITING_STARTUP, (f, t) -> seen.add(f + ">" + t));
    m.transitionTo(ClientState.AUTHENTICATING);
    assertThatThrownBy(() -> m.transitionTo(ClientState.ACTIVE))
        .isInstanceOf(IllegalTransitionException.class)
        .hasMessage("illegal transition AUTHENTICATING -> ACTIVE");
    assertThat(m.state()).isEqualTo(ClientState.AUTHENTICATING);
    assertThat(seen).containsExactly("AWAITING_STARTUP>AUTHENTICATING");
  }

  @Test
  void aClientCannotSkipItsLoginOrComeBackFromClosed() {
    assertThat(ClientState.TABLE.allows(ClientState.AWAITING_STARTUP, ClientState.IDLE)).isFalse();
    assertThat(ClientState.TABLE.allows(ClientState.AUTHENTICATING, ClientState.IDLE)).isFalse();
    assertThat(ClientState.TABLE.allows(ClientState.IDLE, ClientState.ACTIVE))
        .as("a backend is linked only after waiting for it")
        .isFalse();
    for (ClientState s : ClientState.values()) {
      assertThat(ClientState.TABLE.successors(ClientState.CLOSED)).doesNotContain(s);
      if (s != ClientState.CLOSED) {
        assertThat(ClientState.TABLE.allows(s, ClientState.CLOSED)).as("%s can close", s).isTrue();
      }
    }
  }

  @Test
  void everyStateIsReachable() {
    assertThat(reachable(ClientState.TABLE, ClientState.AWAITING_STARTUP, ClientState.class))
        .containsExactlyInAnyOrder(ClientState.values());
    assertThat(reachable(BackendState.TABLE, BackendState.CONNECTING, BackendState.class))
        .containsExactlyInAnyOrder(BackendState.values());
  }

  @Test
  void aBackendClosedWhileBeingHandedOverStaysClosed() {
    BackendSession b = new BackendSession(10, new StatementGenerations(), (f, t) -> {});
    assertThat(b.moveTo(BackendState.AUTHENTICATING)).isTrue();
    assertThat(b.moveTo(BackendState.IDLE)).isTrue();
    assertThat(b.moveTo(BackendState.CLOSED)).isTrue();
    assertThat(b.moveTo(BackendState.LINKED)).as("dropped quietly").isFalse();
    assertThat(b.state()).isEqualTo(BackendState.CLOSED);
    BackendSession other = new BackendSession(10, new StatementGenerations(), (f, t) -> {});
    assertThatThrownBy(() -> other.moveTo(BackendState.LINKED))
        .as("a backend that never logged in cannot be linked")
        .isInstanceOf(IllegalTransitionException.class);
  }

  private static <S extends Enum<S>> Set<S> reachable(
      StateMachine.Table<S> table, S initial, Class<S> type) {
    Set<S> seen = EnumSet.of(initial);
    ArrayDeque<S> todo = new ArrayDeque<>(List.of(initial));
    while (!todo.isEmpty()) {
      for (S next : table.successors(todo.poll())) {
        if (seen.add(next)) {
          todo.add(next);
        }
      }
    }
    return EnumSet.copyOf(seen.isEmpty() ? EnumSet.noneOf(type) : seen);
  }
}
