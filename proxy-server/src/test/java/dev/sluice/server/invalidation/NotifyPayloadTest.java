package dev.sluice.server.invalidation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

/** NOTIFY payloads are table names written as in SQL; anything else means the whole database. */
class NotifyPayloadTest {
  @Test
  void unquotedNamesFoldAndQuotedOnesKeepTheirCase() {
    assertThat(NotifyPayload.tables("Orders")).contains(List.of("orders"));
    assertThat(NotifyPayload.tables("Public.Orders")).contains(List.of("public.orders"));
    assertThat(NotifyPayload.tables("\"Sales\".\"Q1\"")).contains(List.of("Sales.Q1"));
    assertThat(NotifyPayload.tables(" public . \"My \"\"T\"\"\" "))
        .contains(List.of("public.My \"T\""));
  }

  @Test
  void aListNamesSeveralTablesAndAThreePartNameKeepsTwo() {
    assertThat(NotifyPayload.tables("a, public.b,\"C\"")).contains(List.of("a", "public.b", "C"));
    assertThat(NotifyPayload.tables("mydb.public.t")).contains(List.of("public.t"));
  }

  @Test
  void emptyOrUnreadablePayloadsMeanTheWholeDatabase() {
    assertThat(NotifyPayload.tables("")).isEmpty();
    assertThat(NotifyPayload.tables("   ")).isEmpty();
    assertThat(NotifyPayload.tables(null)).isEmpty();
    for (String bad :
        List.of(
            "a.b.c.d",
            "a,",
            ",a",
            "a..b",
            "a b",
            "'t'",
            "\"unterminated",
            "\"\"",
            "t; DROP TABLE x",
            "42",
            "{\"table\":\"t\"}")) {
      assertThat(NotifyPayload.tables(bad)).as(bad).isEmpty();
    }
  }

  @Test
  void aChannelIsOneNameFoldedUnlessQuoted() {
    assertThat(NotifyPayload.channel("Sluice_Cache")).isEqualTo("sluice_cache");
    assertThat(NotifyPayload.channel("\"CacheEvents\"")).isEqualTo("CacheEvents");
    for (String bad : List.of("", "a b", "a.b", "\"\"", "\"open", "'x'")) {
      assertThatThrownBy(() -> NotifyPayload.channel(bad))
          .as(bad)
          .isInstanceOf(IllegalArgumentException.class);
    }
  }

  @Test
  void quotingDoublesInnerQuotes() {
    assertThat(NotifyPayload.quote("a\"b")).isEqualTo("\"a\"\"b\"");
  }
}
