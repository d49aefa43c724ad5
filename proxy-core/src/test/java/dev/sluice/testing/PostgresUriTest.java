package dev.sluice.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class PostgresUriTest {

  @Test
  void readsEveryPart() {
    PostgresUri uri = PostgresUri.parse("postgres://admin:s3cret@db.example:15432/main");

    assertThat(uri).isEqualTo(new PostgresUri("admin", "s3cret", "db.example", 15432, "main"));
  }

  @Test
  void fillsLibpqDefaults() {
    PostgresUri uri = PostgresUri.parse("postgresql://localhost");

    assertThat(uri).isEqualTo(new PostgresUri("postgres", "", "localhost", 5432, "postgres"));
  }

  @Test
  void decodesPercentEscapesButKeepsPlus() {
    PostgresUri uri = PostgresUri.parse("postgres://u%40x:p%3Aw+d%2F@[::1]:5433/d%20b");

    assertThat(uri.user()).isEqualTo("u@x");
    assertThat(uri.password()).isEqualTo("p:w+d/");
    assertThat(uri.host()).isEqualTo("::1");
    assertThat(uri.database()).isEqualTo("d b");
  }

  @Test
  void rejectsOtherSchemesWithoutShowingThePassword() {
    assertThatThrownBy(() -> PostgresUri.parse("mysql://root:hunter2@h/db"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageNotContaining("hunter2");
  }

  @Test
  void toStringHidesThePassword() {
    assertThat(PostgresUri.parse("postgres://a:hunter2@h:1/d").toString())
        .doesNotContain("hunter2");
  }
}
