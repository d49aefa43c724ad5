package dev.sluice.auth;

import static dev.sluice.auth.ScramTesting.RANDOM;
import static dev.sluice.auth.ScramTesting.login;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

class ScramKeyCacheTest {
  private static final ScramCredentials BACKEND = ScramCredentials.derive("s3cret");

  private final ScramKeyCache cache = new ScramKeyCache();

  @Test
  void repeatedLoginsWithTheSameSaltDeriveOnce() {
    for (int i = 0; i < 5; i++) {
      login(new ScramClient("s3cret", cache, RANDOM), backendLogin(BACKEND));
    }
    assertThat(cache.derivations()).isEqualTo(1);
    assertThat(cache.size()).isEqualTo(1);
  }

  @Test
  void anotherSaltOrIterationCountDerivesAgain() {
    login(new ScramClient("s3cret", cache, RANDOM), backendLogin(BACKEND));
    login(
        new ScramClient("s3cret", cache, RANDOM), backendLogin(ScramCredentials.derive("s3cret")));
    ScramCredentials moreIterations = ScramCredentials.derive("s3cret", BACKEND.salt(), 4097);
    login(new ScramClient("s3cret", cache, RANDOM), backendLogin(moreIterations));
    assertThat(cache.derivations()).isEqualTo(3);
  }

  @Test
  void anotherPasswordMissesInsteadOfReusingKeys() {
    login(new ScramClient("s3cret", cache, RANDOM), backendLogin(BACKEND));
    assertThatThrownBy(() -> login(new ScramClient("wrong", cache, RANDOM), backendLogin(BACKEND)))
        .isInstanceOf(AuthenticationFailedException.class);
    assertThat(cache.derivations()).isEqualTo(2);
  }

  @Test
  void holdsAtMostItsCapacity() {
    ScramKeyCache small = new ScramKeyCache(2);
    for (int i = 0; i < 5; i++) {
      ScramCredentials backend = ScramCredentials.derive("s3cret", new byte[] {(byte) i}, 16);
      login(new ScramClient("s3cret", small, RANDOM), backendLogin(backend));
    }
    assertThat(small.size()).isLessThanOrEqualTo(2);
    assertThat(small.derivations()).isEqualTo(5);
  }

  @Test
  void concurrentLoginsAllSucceed() throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Future<?>> logins = new ArrayList<>();
      for (int i = 0; i < 32; i++) {
        logins.add(
            pool.submit(
                () -> login(new ScramClient("s3cret", cache, RANDOM), backendLogin(BACKEND))));
      }
      for (Future<?> f : logins) {
        f.get();
      }
    } finally {
      pool.shutdown();
    }
    assertThat(cache.size()).isEqualTo(1);
    assertThat(cache.derivations()).isBetween(1, 8);
  }

  @Test
  void capacityMustBePositive() {
    assertThatThrownBy(() -> new ScramKeyCache(0)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void toStringShowsNoKeys() {
    login(new ScramClient("s3cret", cache, RANDOM), backendLogin(BACKEND));
    assertThat(cache.toString()).isEqualTo("ScramKeyCache[size=1, capacity=16]");
  }

  private static ScramServerExchange backendLogin(ScramCredentials credentials) {
    return new ScramServerExchange("sluice", credentials, false, RANDOM);
  }
}
