package dev.sluice.auth;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class FailedLoginsTest {
  private final AtomicLong now = new AtomicLong(1_000_000_000L);
  private final FailedLogins logins = new FailedLogins(3, Duration.ofSeconds(10), now::get);
  private final InetAddress guesser = address("192.0.2.1");
  private final InetAddress neighbour = address("192.0.2.2");

  @Test
  void theLimitthFailureLocksTheAddressForAWindowFromIt() {
    assertThat(logins.failed(guesser)).isFalse();
    assertThat(logins.failed(guesser)).isFalse();
    assertThat(logins.lockedFor(guesser)).isNull();
    assertThat(logins.failed(guesser)).as("the one that locks").isTrue();
    assertThat(logins.lockedFor(guesser)).isEqualTo(Duration.ofSeconds(10));
    advance(Duration.ofSeconds(4));
    assertThat(logins.lockedFor(guesser)).isEqualTo(Duration.ofSeconds(6));
    advance(Duration.ofSeconds(6));
    assertThat(logins.lockedFor(guesser)).isNull();
  }

  @Test
  void otherAddressesAreNotAffected() {
    for (int i = 0; i < 3; i++) {
      logins.failed(guesser);
    }
    assertThat(logins.lockedFor(guesser)).isNotNull();
    assertThat(logins.lockedFor(neighbour)).isNull();
  }

  @Test
  void failuresFurtherApartThanTheWindowDoNotAddUp() {
    logins.failed(guesser);
    logins.failed(guesser);
    advance(Duration.ofSeconds(11));
    assertThat(logins.failed(guesser)).isFalse();
    assertThat(logins.lockedFor(guesser)).isNull();
  }

  @Test
  void failuresWithinTheWindowOfEachOtherAddUp() {
    for (int i = 0; i < 3; i++) {
      advance(Duration.ofSeconds(9));
      logins.failed(guesser);
    }
    assertThat(logins.lockedFor(guesser)).isNotNull();
  }

  @Test
  void zeroTurnsTheLimitOff() {
    FailedLogins off = new FailedLogins(0, Duration.ofSeconds(10), now::get);
    for (int i = 0; i < 100; i++) {
      assertThat(off.failed(guesser)).isFalse();
    }
    assertThat(off.lockedFor(guesser)).isNull();
  }

  private void advance(Duration d) {
    now.addAndGet(d.toNanos());
  }

  private static InetAddress address(String literal) {
    try {
      return InetAddress.getByName(literal);
    } catch (java.net.UnknownHostException e) {
      throw new AssertionError(e);
    }
  }
}
