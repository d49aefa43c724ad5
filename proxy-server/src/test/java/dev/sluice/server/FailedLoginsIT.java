package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.sluice.testing.PostgresExtension;
import dev.sluice.testing.PostgresServer;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.postgresql.util.PSQLException;
import org.slf4j.LoggerFactory;

/**
 * {@code --login-failure-limit}: failed logins from one client address lock it for a window, with
 * real pgjdbc logins from two loopback addresses (127.0.0.1 and 127.0.0.2, both on lo).
 */
@ExtendWith(PostgresExtension.class)
class FailedLoginsIT {
  private static final Duration WINDOW = Duration.ofSeconds(2);
  private static final String WRONG = "not-the-password-4711";

  private final PostgresServer pg;

  FailedLoginsIT(PostgresServer pg) {
    this.pg = pg;
  }

  @Test
  void anAddressWithTooManyFailuresIsRefusedForAWindowAndOthersAreNot() throws Exception {
    Logger logger = (Logger) LoggerFactory.getLogger(ClientConnection.class);
    ListAppender<ILoggingEvent> logged = new ListAppender<>();
    logged.start();
    logger.addAppender(logged);
    try (TestSluice s =
        TestSluice.start(pg, b -> b.loginFailureLimit(3).loginFailureWindow(WINDOW))) {
      for (int i = 0; i < 3; i++) {
        assertThatThrownBy(() -> login(s, "127.0.0.1", WRONG).close())
            .isInstanceOf(PSQLException.class)
            .hasMessageContaining("password authentication failed")
            .satisfies(e -> assertThat(((PSQLException) e).getSQLState()).isEqualTo("28P01"));
      }
      long lockedAt = System.nanoTime();

      // locked: even the right password is refused, before any password exchange
      assertThatThrownBy(() -> login(s, "127.0.0.1", pg.appPassword()).close())
          .isInstanceOf(PSQLException.class)
          .hasMessageContaining("too many failed logins from this address")
          .satisfies(e -> assertThat(((PSQLException) e).getSQLState()).isEqualTo("28P01"));

      // another address is not affected
      try (Connection c = login(s, "127.0.0.2", pg.appPassword())) {
        assertThat(c.isValid(5)).isTrue();
      }

      // one line says so, without the password
      List<ILoggingEvent> warnings;
      synchronized (logged) {
        warnings = logged.list.stream().filter(e -> e.getLevel() == Level.WARN).toList();
      }
      assertThat(warnings)
          .singleElement()
          .extracting(ILoggingEvent::getFormattedMessage)
          .asString()
          .contains("3 failed logins from 127.0.0.1")
          .doesNotContain(WRONG)
          .doesNotContain(pg.appPassword());

      // the right password works again once the window has passed since the last failure;
      // the refusals meanwhile do not extend it
      Connection c = awaitLogin(s, "127.0.0.1", Duration.ofSeconds(15));
      try (c) {
        assertThat(c.isValid(5)).isTrue();
      }
      assertThat(Duration.ofNanos(System.nanoTime() - lockedAt))
          .as("refused until the window had passed")
          .isGreaterThanOrEqualTo(WINDOW.minusMillis(200));
    } finally {
      logger.detachAppender(logged);
    }
  }

  @Test
  void zeroTurnsTheLimitOff() throws Exception {
    try (TestSluice s = TestSluice.start(pg, b -> b.loginFailureLimit(0))) {
      for (int i = 0; i < 12; i++) {
        assertThatThrownBy(() -> login(s, "127.0.0.1", WRONG).close())
            .hasMessageContaining("password authentication failed");
      }
      try (Connection c = login(s, "127.0.0.1", pg.appPassword())) {
        assertThat(c.isValid(5)).isTrue();
      }
    }
  }

  /** Tries the right password until it is let in; every refusal must be the lock's. */
  private Connection awaitLogin(TestSluice s, String from, Duration max) throws Exception {
    long deadline = System.nanoTime() + max.toNanos();
    while (true) {
      try {
        return login(s, from, pg.appPassword());
      } catch (PSQLException e) {
        assertThat(e.getMessage()).contains("too many failed logins");
        assertThat(System.nanoTime()).as("let in within %s", max).isLessThan(deadline);
        Thread.sleep(100); // polling an observable state, not waiting for it to happen
      }
    }
  }

  private Connection login(TestSluice s, String from, String password) throws SQLException {
    Properties p = new Properties();
    p.setProperty("user", pg.appUser());
    p.setProperty("password", password);
    p.setProperty("localSocketAddress", from);
    p.setProperty("connectTimeout", "10");
    return DriverManager.getConnection(s.jdbcUrl(), p);
  }
}
