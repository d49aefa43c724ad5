package dev.sluice.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ConfigReloadTest {
  private static final Upstream UP =
      new Upstream(List.of(new HostAndPort("db", 5432)), "app", "appdb", "pw", null, Map.of());

  private static ProxyConfigBuilder base() {
    return ProxyConfig.builder(UP).poolSize(5).minIdle(1);
  }

  @Test
  void reloadableSettingsChangeAndTheRestWaitForARestart() {
    ConfigReload r =
        ConfigReload.plan(
            base().build(),
            base()
                .poolSize(9)
                .acquireTimeout(Duration.ofSeconds(3))
                .listen(new HostAndPort("0.0.0.0", 7000))
                .adminToken("new-secret")
                .build());
    assertThat(r.config().poolSize()).isEqualTo(9);
    assertThat(r.config().acquireTimeout()).isEqualTo(Duration.ofSeconds(3));
    assertThat(r.config().listen()).isEqualTo(new HostAndPort("127.0.0.1", 6432));
    assertThat(r.config().adminToken()).isNull();
    assertThat(r.applied()).containsExactly("poolSize: 5 -> 9", "acquireTimeout: PT30S -> PT3S");
    assertThat(r.needsRestart())
        .containsExactly("listen: 127.0.0.1:6432 -> 0.0.0.0:7000", "adminToken changed");
    assertThat(r.summary().toString()).doesNotContain("new-secret");
  }

  @Test
  void nothingChangedIsNothingApplied() {
    ConfigReload r = ConfigReload.plan(base().build(), base().build());
    assertThat(r.applied()).isEmpty();
    assertThat(r.needsRestart()).isEmpty();
  }

  @Test
  void aNewUpstreamWaitsForARestartAndItsPasswordIsNotShown() {
    Upstream other =
        new Upstream(List.of(new HostAndPort("db2", 5432)), "app", "appdb", "pw2", null, Map.of());
    ConfigReload r =
        ConfigReload.plan(
            base().build(), ProxyConfig.builder(other).poolSize(5).minIdle(1).build());
    assertThat(r.config().upstream()).isEqualTo(UP);
    assertThat(r.needsRestart()).hasSize(1);
    assertThat(r.needsRestart().get(0)).startsWith("upstream: ").doesNotContain("pw2");
  }
}
