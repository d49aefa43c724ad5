package dev.sluice.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Who may use the admin console: the upstream's role and those --admin-users lists. */
class ConsoleUsersTest {
  private static final Upstream UP =
      new Upstream(List.of(new HostAndPort("db", 5432)), "appdb", "app", "pw", null, Map.of());

  @Test
  void byDefaultOnlyTheUpstreamRoleIsAllowed() {
    ProxyConfig c = ProxyConfig.builder(UP).build();

    assertThat(c.adminUsers()).isEmpty();
    assertThat(c.allowsConsoleUser("app")).isTrue();
    assertThat(c.allowsConsoleUser("ops")).isFalse();
    assertThat(c.allowsConsoleUser("APP")).as("role names are case-sensitive").isFalse();
  }

  @Test
  void listedRolesAreAllowedBesideTheUpstreamRole() {
    ProxyConfig c = ProxyConfig.builder(UP).adminUsers(Set.of("ops", "oncall")).build();

    assertThat(c.allowsConsoleUser("app")).isTrue();
    assertThat(c.allowsConsoleUser("ops")).isTrue();
    assertThat(c.allowsConsoleUser("oncall")).isTrue();
    assertThat(c.allowsConsoleUser("report")).isFalse();
  }

  @Test
  void aReloadAppliesANewList() {
    ProxyConfig running = ProxyConfig.builder(UP).build();
    ConfigReload r =
        ConfigReload.plan(running, ProxyConfig.builder(UP).adminUsers(Set.of("ops")).build());

    assertThat(r.config().allowsConsoleUser("ops")).isTrue();
    assertThat(r.applied()).containsExactly("adminUsers: [] -> [ops]");
    assertThat(r.needsRestart()).isEmpty();
  }
}
