package dev.sluice.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TargetSessionAttrsTest {
  private static final Map<String, String> PRIMARY =
      Map.of("in_hot_standby", "off", "default_transaction_read_only", "off");
  private static final Map<String, String> STANDBY =
      Map.of("in_hot_standby", "on", "default_transaction_read_only", "off");
  private static final Map<String, String> READ_ONLY_PRIMARY =
      Map.of("in_hot_standby", "off", "default_transaction_read_only", "on");

  @Test
  void eachSettingTakesTheServersLibpqWould() {
    assertThat(TargetSessionAttrs.ANY.accepts(STANDBY, true)).isTrue();
    assertThat(TargetSessionAttrs.READ_WRITE.accepts(PRIMARY, true)).isTrue();
    assertThat(TargetSessionAttrs.READ_WRITE.accepts(STANDBY, true)).isFalse();
    assertThat(TargetSessionAttrs.READ_WRITE.accepts(READ_ONLY_PRIMARY, true)).isFalse();
    assertThat(TargetSessionAttrs.READ_ONLY.accepts(READ_ONLY_PRIMARY, true)).isTrue();
    assertThat(TargetSessionAttrs.READ_ONLY.accepts(PRIMARY, true)).isFalse();
    assertThat(TargetSessionAttrs.PRIMARY.accepts(READ_ONLY_PRIMARY, true)).isTrue();
    assertThat(TargetSessionAttrs.PRIMARY.accepts(STANDBY, true)).isFalse();
    assertThat(TargetSessionAttrs.STANDBY.accepts(STANDBY, true)).isTrue();
    assertThat(TargetSessionAttrs.STANDBY.accepts(PRIMARY, false)).isFalse();
    assertThat(TargetSessionAttrs.PREFER_STANDBY.accepts(PRIMARY, true)).isFalse();
    assertThat(TargetSessionAttrs.PREFER_STANDBY.accepts(PRIMARY, false)).isTrue();
    assertThat(TargetSessionAttrs.PRIMARY.accepts(Map.of(), true))
        .as("a server that reports neither counts as a primary")
        .isTrue();
  }

  @Test
  void readFromTheUpstreamUrl() {
    Upstream up =
        UpstreamUrl.parse(
            "--upstream", "postgres://u:p@h1:5432,h2:5433/db?target_session_attrs=prefer-standby");
    assertThat(TargetSessionAttrs.of(up)).isEqualTo(TargetSessionAttrs.PREFER_STANDBY);
    assertThat(up.hosts())
        .containsExactly(new HostAndPort("h1", 5432), new HostAndPort("h2", 5433));
    assertThat(TargetSessionAttrs.of(UpstreamUrl.parse("--upstream", "postgres://u:p@h/db")))
        .isEqualTo(TargetSessionAttrs.ANY);
    assertThat(List.of(TargetSessionAttrs.values())).hasSize(6);
  }
}
