package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.PoolMode;
import dev.sluice.testing.PostgresExtension;
import dev.sluice.testing.PostgresServer;
import java.sql.Connection;
import java.sql.SQLWarning;
import java.sql.Statement;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

/** NOTICE and NOTIFY pass-through, FunctionCall and EmptyQuery through Sluice. */
@ExtendWith(PostgresExtension.class)
class ProtocolFeaturesIT {
  private final PostgresServer pg;

  ProtocolFeaturesIT(PostgresServer pg) {
    this.pg = pg;
  }

  @ParameterizedTest
  @EnumSource(PoolMode.class)
  void noticesReachTheClientThatCausedThem(PoolMode mode) throws Exception {
    try (TestSluice s = TestSluice.start(pg, mode);
        Connection c = s.connect();
        Statement st = c.createStatement()) {
      st.execute("DO $$ BEGIN RAISE NOTICE 'hello from the server'; END $$");
      SQLWarning w = st.getWarnings();
      assertThat((Object) w).isNotNull();
      assertThat(w.getMessage()).contains("hello from the server");
    }
  }

  @Test
  void notificationsReachAListeningSessionModeClient() throws Exception {
    try (TestSluice s = TestSluice.start(pg, PoolMode.SESSION);
        Connection listener = s.connect();
        Connection sender = s.connect()) {
      listener.createStatement().execute("LISTEN sluice_events");
      sender.createStatement().execute("NOTIFY sluice_events, 'payload-1'");
      PGNotification[] got = listener.unwrap(PGConnection.class).getNotifications(5_000);
      assertThat(got).isNotNull();
      assertThat(got).extracting(PGNotification::getName).containsExactly("sluice_events");
      assertThat(got[0].getParameter()).isEqualTo("payload-1");
    }
  }

  @ParameterizedTest
  @EnumSource(PoolMode.class)
  void functionCallAndEmptyQueryAreAnswered(PoolMode mode) throws Exception {
    try (TestSluice s = TestSluice.start(pg, mode);
        RawClient raw = RawClient.connect(s, pg)) {
      // pg_backend_pid() has the fixed OID 2026; FunctionCall answers FunctionCallResponse.
      raw.functionCall(2026);
      assertThat(raw.readUntilReady()).containsExactly("V", "Z:I");
      raw.query("");
      assertThat(raw.readUntilReady()).containsExactly("I", "Z:I");
      raw.query("SELECT 1; SELECT 2");
      assertThat(raw.readUntilReady()).isEqualTo(List.of("T", "D", "C", "T", "D", "C", "Z:I"));
    }
  }
}
