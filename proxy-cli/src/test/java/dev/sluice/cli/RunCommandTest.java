package dev.sluice.cli;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.sluice.config.ConfigException;
import dev.sluice.config.ProxyConfig;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

class RunCommandTest {
  private static final Map<String, String> ENV =
      Map.of("DATABASE_URL", "postgres://app:secret@db.internal/app");

  /** Records what it was asked to start; its server stops as soon as it is awaited. */
  private static final class FakeLauncher implements Launcher {
    final List<ProxyConfig> started = new ArrayList<>();
    boolean closed;

    @Override
    public Running start(ProxyConfig config) {
      started.add(config);
      return new Running() {
        @Override
        public InetSocketAddress localAddress() {
          return new InetSocketAddress("127.0.0.1", 40000);
        }

        @Override
        public void awaitTermination() {}

        @Override
        public void close() {
          closed = true;
        }
      };
    }
  }

  @Test
  void startsTheServerWithTheAssembledConfigAndServesUntilItStops() {
    FakeLauncher launcher = new FakeLauncher();

    Cli.Result r =
        Cli.run(
            Map.of("DATABASE_URL", "postgres://app:secret@db.internal/app", "SLUICE_MIN_IDLE", "1"),
            launcher,
            "run",
            "--listen",
            "127.0.0.1:0",
            "--pool-size",
            "8");

    assertThat(r.status()).isZero();
    assertThat(r.err()).isEmpty();
    assertThat(launcher.started).hasSize(1);
    ProxyConfig c = launcher.started.get(0);
    assertThat(c.listen().port()).isZero();
    assertThat(c.poolSize()).isEqualTo(8);
    assertThat(c.minIdle()).isEqualTo(1);
    assertThat(c.upstream().password()).isEqualTo("secret");
  }

  @Test
  void logsOneStartLineWithTheUpstreamMasked() {
    ch.qos.logback.classic.Logger logger =
        (ch.qos.logback.classic.Logger) LoggerFactory.getLogger(RunCommand.class);
    ListAppender<ILoggingEvent> events = new ListAppender<>();
    events.start();
    logger.addAppender(events);
    try {
      Cli.run(ENV, new FakeLauncher(), "run", "--pool-size", "8", "--pool-mode", "session");
    } finally {
      logger.detachAppender(events);
    }

    assertThat(events.list)
        .singleElement()
        .satisfies(
            e -> {
              assertThat(e.getLevel()).isEqualTo(Level.INFO);
              assertThat(e.getFormattedMessage())
                  .isEqualTo(
                      "sluice listening on 127.0.0.1:40000, upstream"
                          + " postgres://app:****@db.internal:5432/app?sslmode=prefer,"
                          + " pool mode session, pool size 8");
            });
  }

  @Test
  void aFailedStartIsOneLineAndStatus1() {
    Launcher portInUse = config -> sneakyThrow(new BindException("Address already in use"));

    Cli.Result r = Cli.run(ENV, portInUse, "run");

    assertThat(r.err()).isEqualTo("sluice: java.net.BindException: Address already in use\n");
    assertThat(r.status()).isEqualTo(1);
  }

  @Test
  void aConfigExceptionFromStartPrintsItsMessage() {
    Launcher refuses =
        config -> {
          throw new ConfigException("--listen", "10.9.9.9:1", "cannot bind that address");
        };

    Cli.Result r = Cli.run(ENV, refuses, "run");

    assertThat(r.err())
        .isEqualTo("sluice: invalid value for --listen: '10.9.9.9:1' (cannot bind that address)\n");
    assertThat(r.status()).isEqualTo(1);
  }

  @Test
  void aBadValueNeverStartsTheServer() {
    FakeLauncher launcher = new FakeLauncher();

    Cli.Result r = Cli.run(ENV, launcher, "run", "--pool-mode", "statement");

    assertThat(r.status()).isEqualTo(2);
    assertThat(launcher.started).isEmpty();
  }

  @Test
  void logLevelSetsTheRootLogger() {
    ch.qos.logback.classic.Logger root =
        (ch.qos.logback.classic.Logger) LoggerFactory.getLogger(Logger.ROOT_LOGGER_NAME);
    Level before = root.getLevel();
    try {
      Cli.Result r = Cli.run(ENV, new FakeLauncher(), "run", "--log-level", "warn");

      assertThat(r.status()).isZero();
      assertThat(root.getLevel()).isEqualTo(Level.WARN);
    } finally {
      root.setLevel(before);
    }
  }

  @SuppressWarnings("unchecked")
  private static <T extends Throwable> Launcher.Running sneakyThrow(Throwable t) throws T {
    throw (T) t;
  }
}
