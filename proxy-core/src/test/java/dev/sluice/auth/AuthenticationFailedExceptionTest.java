package dev.sluice.auth;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.error.SqlState;
import dev.sluice.protocol.Severity;
import org.junit.jupiter.api.Test;

class AuthenticationFailedExceptionTest {

  @Test
  void carriesPostgresWordingAndCode() {
    AuthenticationFailedException e = new AuthenticationFailedException("alice");
    assertThat(e.state()).isEqualTo(SqlState.INVALID_PASSWORD);
    assertThat(e.state().code()).isEqualTo("28P01");
    assertThat(e.severity()).isEqualTo(Severity.FATAL);
    assertThat(e).hasMessage("password authentication failed for user \"alice\"");
  }
}
