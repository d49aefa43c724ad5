package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.protocol.backend.ErrorResponse;
import org.junit.jupiter.api.Test;

class LoginErrorsTest {
  @Test
  void aRoleKeptOutOfTheConsoleIsToldItIsNotAllowed() {
    ErrorResponse e = LoginErrors.consoleNotAllowed("report");

    assertThat(e.sqlState()).isEqualTo("28000");
    assertThat(e.severity()).isEqualTo("FATAL");
    assertThat(e.isFatal()).isTrue();
    assertThat(e.message()).isEqualTo("not allowed");
    assertThat(e.fields().get('D'))
        .isEqualTo("Role \"report\" may not use the admin console; --admin-users lists who may.");
  }
}
