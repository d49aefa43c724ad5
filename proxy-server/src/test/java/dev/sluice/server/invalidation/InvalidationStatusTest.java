package dev.sluice.server.invalidation;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class InvalidationStatusTest {
  @Test
  void theAdminViewLeavesOutWhatIsNotKnown() {
    Instant since = Instant.parse("2026-01-02T03:04:05Z");
    assertThat(
            new InvalidationStatus(
                    "notify", SourceState.STREAMING, since, null, 3, 1, 0, null, null)
                .asMap())
        .containsOnlyKeys("source", "state", "since", "invalidations", "flushes", "reconnects")
        .containsEntry("state", "STREAMING")
        .containsEntry("since", "2026-01-02T03:04:05Z");
    assertThat(
            new InvalidationStatus(
                    "wal",
                    SourceState.RECONNECTING,
                    since,
                    "IOException: reset",
                    0,
                    2,
                    1,
                    "sluice_cache_0a1b",
                    Duration.ofMillis(1500))
                .asMap())
        .containsEntry("lastError", "IOException: reset")
        .containsEntry("slot", "sluice_cache_0a1b")
        .containsEntry("lagMillis", 1500L);
  }
}
