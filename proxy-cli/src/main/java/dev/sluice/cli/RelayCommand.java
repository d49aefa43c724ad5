package dev.sluice.cli;

import dev.sluice.config.Durations;
import dev.sluice.config.HostAndPort;
import dev.sluice.relay.FaultRelay;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code sluice relay}: a TCP relay that adds network faults, for trying Sluice (or anything else)
 * against a bad network. It reads commands from stdin to switch faults while it runs; when stdin
 * ends it keeps relaying until stopped (SIGINT or SIGTERM), so it can run in the background.
 */
@Command(
    name = "relay",
    mixinStandardHelpOptions = true,
    versionProvider = VersionProvider.class,
    sortOptions = false,
    description = {
      "Relay TCP connections to a target, adding latency, a bandwidth limit, a black hole,"
          + " resets or a close after N bytes; switch them while it runs with commands on stdin"
          + " (type help). The first line of output names the address it listens on.",
      "It runs in userspace: the kernel still acknowledges data and answers keepalives in a"
          + " black hole, until the relay's receive buffer is full."
    },
    footer = {
      "",
      "DURATION is a number with a unit: ms, s, m, h or d (5ms, 1s).",
      "SIZE is bytes, or a number with kB, MB or GB (64kB, 1MB); 1kB = 1024 bytes.",
      "",
      "Examples:",
      "  sluice relay --target db:5432 --latency 20ms",
      "  sluice relay --listen 127.0.0.1:15432 --target db:5432 --bandwidth 1MB",
      "  (then type on stdin, say: blackhole on; status; blackhole off)"
    })
final class RelayCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(
      names = "--listen",
      paramLabel = "HOST:PORT",
      description = "Where to accept connections; port 0 picks a free one. Default: 127.0.0.1:0.")
  String listen = "127.0.0.1:0";

  @Option(
      names = "--target",
      paramLabel = "HOST:PORT",
      required = true,
      description = "Where each connection is relayed to (a PostgreSQL server, say).")
  String target;

  @Option(
      names = "--latency",
      paramLabel = "DURATION",
      description = "Delay each way (a round trip costs twice). Default: none.")
  String latency;

  @Option(
      names = "--bandwidth",
      paramLabel = "SIZE",
      description = "Bytes per second each connection may pass each way. Default: no limit.")
  String bandwidth;

  @Option(
      names = "--close-after",
      paramLabel = "SIZE",
      description = "Close each connection after it has passed this many bytes one way.")
  String closeAfter;

  @Option(
      names = "--socket-buffers",
      paramLabel = "SIZE",
      description =
          "SO_RCVBUF and SO_SNDBUF of the relay's sockets, so a black hole's window closes"
              + " sooner. Default: the kernel's.")
  String socketBuffers;

  private final InputStream stdin;

  RelayCommand() {
    this(System.in);
  }

  RelayCommand(InputStream stdin) {
    this.stdin = stdin;
  }

  @Override
  public Integer call() throws IOException {
    HostAndPort from = HostAndPort.parse("--listen", listen);
    HostAndPort to = HostAndPort.parse("--target", target);
    int buffers =
        socketBuffers == null
            ? 0
            : (int) FlagValues.size("--socket-buffers", socketBuffers, 1024, 64L << 20);
    Duration delay = latency == null ? null : Durations.parse("--latency", latency);
    long rate = bandwidth == null ? 0 : FlagValues.size("--bandwidth", bandwidth, 1, 1L << 40);
    long limit =
        closeAfter == null ? -1 : FlagValues.size("--close-after", closeAfter, 0, 1L << 40);

    PrintWriter out = spec.commandLine().getOut();
    FaultRelay relay;
    try {
      relay =
          FaultRelay.builder(
                  new InetSocketAddress(from.host(), from.port()),
                  new InetSocketAddress(to.host(), to.port()))
              .socketBuffers(buffers)
              .start();
    } catch (IllegalStateException e) { // the port is taken, say: not a usage mistake
      OneLineErrors.print(spec.commandLine(), e.getMessage());
      return OneLineErrors.FAILURE;
    }
    CountDownLatch stopped = new CountDownLatch(1);
    Thread hook =
        new Thread(
            () -> {
              relay.close();
              stopped.countDown();
            },
            "sluice-relay-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    try {
      RelayControl control = new RelayControl(relay);
      if (delay != null) {
        relay.latency(delay);
      }
      relay.bandwidth(rate);
      relay.closeAfter(limit);
      InetSocketAddress bound = relay.localAddress();
      out.printf(
          "relay listening on %s, target %s; %s%n",
          new HostAndPort(bound.getHostString(), bound.getPort()),
          to,
          control.execute("status").substring("ok: ".length()));
      out.flush();
      if (!readCommands(control, out)) {
        stopped.await(); // stdin ended: relay until the process is stopped
      }
      return 0;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return OneLineErrors.FAILURE;
    } finally {
      relay.close();
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException shuttingDown) {
        // the hook is what stopped the relay
      }
    }
  }

  /** Answers commands until {@code quit} (true) or the end of stdin (false). */
  private boolean readCommands(RelayControl control, PrintWriter out) throws IOException {
    BufferedReader in = new BufferedReader(new InputStreamReader(stdin, StandardCharsets.UTF_8));
    String line;
    while ((line = in.readLine()) != null) {
      if (RelayControl.isQuit(line)) {
        return true;
      }
      String answer = control.execute(line);
      if (answer != null) {
        out.println(answer);
        out.flush();
      }
    }
    return false;
  }
}
