package dev.sluice.session;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.error.SluiceException;
import dev.sluice.error.SqlState;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SessionParametersTest {

  private static Map<String, String> startup(String... kv) {
    Map<String, String> m = new LinkedHashMap<>();
    for (int i = 0; i < kv.length; i += 2) {
      m.put(kv[i], kv[i + 1]);
    }
    return m;
  }

  @Test
  void loginKeysAreNotSettings() {
    SessionParameters p =
        SessionParameters.fromStartup(
            startup("user", "u", "database", "d", "application_name", "app", "DateStyle", "ISO"));
    assertThat(p.desired()).containsOnlyKeys("application_name", "datestyle");
  }

  @Test
  void syncQueryUsesSetConfigAndResetsWhatAnotherClientLeft() {
    SessionParameters p =
        SessionParameters.fromStartup(startup("application_name", "it's", "search_path", "a, b"));
    Map<String, String> applied = new HashMap<>(Map.of("timezone", "UTC", "application_name", "x"));
    String q = p.syncQuery(applied);
    assertThat(q)
        .isEqualTo(
            "SELECT pg_catalog.set_config(E'application_name', E'it''s', false),"
                + " pg_catalog.set_config(E'search_path', E'a, b', false);RESET \"timezone\";");
    assertThat(applied).isEqualTo(p.desired());
    assertThat(p.syncQuery(applied)).isNull();
  }

  @Test
  void backslashesAreEscapedWhateverStandardConformingStringsSays() {
    assertThat(SqlLiteral.of("a\\b'c")).isEqualTo("E'a\\\\b''c'");
  }

  @Test
  void reportedValuesFollowTheClientAndAreForwardedOnlyWhenTheyChangeItsView() {
    SessionParameters p = SessionParameters.fromStartup(startup("DateStyle", "ISO"));
    // the server's own spelling of the client's value (as a backend's set_config returned it)
    Map<String, String> report =
        p.initialReport(
            Map.of("DateStyle", "Postgres, MDY", "server_version", "15"),
            (name, value) -> name.equals("datestyle") && value.equals("ISO") ? "ISO, MDY" : value);
    assertThat(report).containsEntry("DateStyle", "ISO, MDY").containsEntry("server_version", "15");
    Map<String, String> applied = new HashMap<>();
    // the client was told "ISO, MDY" at login: the backend saying so again is not news
    assertThat(p.onReported("DateStyle", "ISO, MDY", applied)).isFalse();
    assertThat(p.onReported("DateStyle", "German, DMY", applied)).isTrue();
    assertThat(p.onReported("DateStyle", "ISO, MDY", applied)).isTrue();
    assertThat(p.onReported("DateStyle", "ISO, MDY", applied)).isFalse();
    assertThat(p.onReported("application_name", "mine", applied)).isTrue();
    assertThat(p.desired())
        .containsEntry("datestyle", "ISO, MDY")
        .containsEntry("application_name", "mine");
    assertThat(applied).isEqualTo(p.desired());
    // fixed values are shown to the client but never replayed onto a backend
    assertThat(p.onReported("is_superuser", "off", applied)).isTrue();
    assertThat(p.desired()).doesNotContainKey("is_superuser");
  }

  @Test
  void optionsCarryDashCSettingsOnly() {
    SessionParameters p =
        SessionParameters.fromStartup(
            startup("options", "-c search_path=x\\ y --statement-timeout=5s -cwork_mem=4MB"));
    assertThat(p.desired())
        .containsEntry("search_path", "x y")
        .containsEntry("statement_timeout", "5s")
        .containsEntry("work_mem", "4MB");
    assertThatThrownBy(() -> SessionParameters.fromStartup(startup("options", "-d 5")))
        .isInstanceOfSatisfying(
            SluiceException.class,
            e -> assertThat(e.state()).isEqualTo(SqlState.FEATURE_NOT_SUPPORTED));
  }

  @Test
  void nonsenseNamesAreRefusedAsPostgreSQLWould() {
    assertThatThrownBy(() -> SessionParameters.fromStartup(startup("bad name", "1")))
        .isInstanceOfSatisfying(
            SluiceException.class, e -> assertThat(e.state()).isEqualTo(SqlState.UNDEFINED_OBJECT))
        .hasMessageContaining("unrecognized configuration parameter \"bad name\"");
    assertThatThrownBy(() -> SessionParameters.fromStartup(startup("is_superuser", "on")))
        .isInstanceOf(SluiceException.class);
  }
}
