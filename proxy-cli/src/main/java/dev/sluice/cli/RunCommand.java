package dev.sluice.cli;

import dev.sluice.config.HostAndPort;
import dev.sluice.config.ProxyConfig;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code sluice run}: start the proxy and serve until stopped. */
@Command(
    name = "run",
    mixinStandardHelpOptions = true,
    versionProvider = VersionProvider.class,
    sortOptions = false,
    abbreviateSynopsis = true,
    description = {
      "Start the proxy and serve until stopped (SIGINT or SIGTERM).",
      "Every flag can also be set with the environment variable shown, or in the --config"
          + " file under its own name; a flag beats its variable, which beats the file, which"
          + " beats the default."
    },
    footer = {
      "",
      "DURATION is a number with a unit: ms, s, m, h or d (500ms, 30s, 10m).",
      "SIZE is bytes, or a number with kB, MB or GB (64kB, 128MB); 1kB = 1024 bytes.",
      "",
      "Examples:",
      "  sluice run --upstream postgres://app:secret@db:5432/app",
      "  sluice run --config /etc/sluice/sluice.yaml --listen 0.0.0.0:6432",
      "  DATABASE_URL=postgres://app:secret@db/app SLUICE_POOL_MODE=session \\",
      "      sluice run",
      "  sluice run --upstream postgres://app:secret@db/app \\",
      "      --admin-listen 0.0.0.0:9930 --admin-token \"$SLUICE_ADMIN_TOKEN\""
    })
final class RunCommand implements Callable<Integer> {
  private static final Logger log = LoggerFactory.getLogger(RunCommand.class);

  @Spec CommandSpec spec;

  private final Map<String, String> env;
  private final Launcher launcher;
  private final Path root;

  /**
   * @param root the file system root where {@link Container} looks for signs of a container
   */
  RunCommand(Map<String, String> env, Launcher launcher, Path root) {
    this.env = env;
    this.launcher = launcher;
    this.root = root;
  }

  @Override
  public Integer call() {
    ConfigSource source = ConfigSource.of(Flag.given(spec), env);
    CliSettings settings = source.get();
    boolean container = Container.detected(env, root);
    Logging.configure(settings.logLevel(), settings.logFormat().resolve(container));
    ProxyConfig config = settings.config();
    Launcher.Running server;
    try {
      server = launcher.start(config);
    } catch (Exception e) { // Netty rethrows checked exceptions (BindException) unchecked
      OneLineErrors.print(spec.commandLine(), OneLineErrors.render(e));
      return OneLineErrors.FAILURE;
    }
    server.reloadFrom(
        () -> {
          CliSettings next = source.get();
          Logging.configure(next.logLevel(), next.logFormat().resolve(container));
          return next.config();
        });
    // Before the "listening" line: whoever waits for it may send SIGHUP at once.
    Signals.install(server);
    log.info(
        "sluice listening on {}, upstream {}, pool mode {}, pool size {}",
        address(server.localAddress()),
        config.upstream(),
        config.poolMode().flagValue(),
        config.poolSize());
    return serveUntilClosed(server);
  }

  /** Blocks until the server stops; SIGINT and SIGTERM drain it through a shutdown hook. */
  private static int serveUntilClosed(Launcher.Running server) {
    Thread hook = new Thread(server::drain, "sluice-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    try {
      server.awaitTermination();
      return 0;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      server.close();
      return OneLineErrors.FAILURE;
    } finally {
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException shuttingDown) {
        // The hook is what stopped the server; the JVM is exiting anyway.
      }
    }
  }

  private static String address(InetSocketAddress a) {
    return new HostAndPort(a.getHostString(), a.getPort()).toString();
  }
}
