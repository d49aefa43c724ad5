package dev.sluice.server.invalidation;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class SourceStateTest {
  @Test
  void everyStateMayStopAndOnlyStoppingLeavesTheFinalOnes() {
    for (SourceState s : SourceState.values()) {
      assertThat(s.canBecome(SourceState.STOPPED) || s == SourceState.STOPPED).isTrue();
    }
    assertThat(SourceState.UNAVAILABLE.canBecome(SourceState.STREAMING)).isFalse();
    assertThat(SourceState.STOPPED.canBecome(SourceState.STARTING)).isFalse();
    assertThat(SourceState.STREAMING.canBecome(SourceState.STARTING)).isFalse();
    assertThat(SourceState.RECONNECTING.canBecome(SourceState.RECONNECTING)).isTrue();
  }
}
