package dev.sluice.server.invalidation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The prerequisites that need no server; the server side is in WalInvalidationIT. */
class WalSetupTest {
  @Test
  void onlyLogicalWalLevelServesAndTheReasonSaysHowToFixIt() {
    assertThat(WalSetup.walLevelProblem("logical")).isEmpty();
    assertThat(WalSetup.walLevelProblem("replica"))
        .hasValueSatisfying(
            reason ->
                assertThat(reason)
                    .contains("'replica'", "wal_level = logical", "restart PostgreSQL", "max-age"));
    assertThat(WalSetup.walLevelProblem("minimal")).isPresent();
  }

  @Test
  void postgres10IsTooOldForTruncate() {
    assertThat(WalSetup.versionProblem(110000)).isEmpty();
    assertThat(WalSetup.versionProblem(170002)).isEmpty();
    assertThat(WalSetup.versionProblem(100023))
        .hasValueSatisfying(r -> assertThat(r).contains("11"));
  }

  @Test
  void publicationNamesMustTravelUnquoted() {
    WalInvalidation.Settings d = WalInvalidation.Settings.defaults();
    assertThat(d.publication()).isEqualTo("sluice_cache");
    assertThat(d.withPublication("pub_2").publication()).isEqualTo("pub_2");
    for (String bad : new String[] {"Pub", "a-b", "x'y", "", "1abc"}) {
      assertThatThrownBy(() -> d.withPublication(bad))
          .as(bad)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining(bad);
    }
    assertThatThrownBy(() -> d.withLagLimit(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
