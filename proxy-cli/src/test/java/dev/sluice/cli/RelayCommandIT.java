package dev.sluice.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.Writer;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** {@code sluice relay} in front of an echo server, driven through its stdin. */
class RelayCommandIT {

  /** Collects what the command prints, a line at a time. */
  private static final class Lines extends Writer {
    final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    private final StringBuilder partial = new StringBuilder();

    @Override
    public synchronized void write(char[] buf, int off, int len) {
      for (int i = off; i < off + len; i++) {
        if (buf[i] == '\n') {
          lines.add(partial.toString());
          partial.setLength(0);
        } else if (buf[i] != '\r') {
          partial.append(buf[i]);
        }
      }
    }

    @Override
    public void flush() {}

    @Override
    public void close() {}

    String next() throws InterruptedException {
      String line = lines.poll(10, TimeUnit.SECONDS);
      assertThat(line).as("a line from the relay within 10 s").isNotNull();
      return line;
    }
  }

  /** Echoes every byte back, one connection at a time, until closed. */
  private static Thread echo(ServerSocket listener) {
    Thread t =
        new Thread(
            () -> {
              while (!listener.isClosed()) {
                try (Socket s = listener.accept()) {
                  s.getInputStream().transferTo(s.getOutputStream());
                } catch (IOException e) {
                  // the listener closed, or the relay reset the connection
                }
              }
            },
            "test-echo");
    t.setDaemon(true);
    t.start();
    return t;
  }

  private static long roundTripMillis(Socket c, int b) throws IOException {
    long t0 = System.nanoTime();
    c.getOutputStream().write(b);
    assertThat(c.getInputStream().read()).isEqualTo(b);
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
  }

  @Test
  void relaysAndSwitchesFaultsFromStdin() throws Exception {
    try (ServerSocket target = new ServerSocket(0, 10, InetAddress.getLoopbackAddress())) {
      Thread echo = echo(target);
      PipedOutputStream typed = new PipedOutputStream();
      InputStream stdin = new PipedInputStream(typed);
      Lines out = new Lines();
      CommandLine cmd = new CommandLine(new RelayCommand(stdin));
      cmd.setOut(new PrintWriter(out, true));
      StringWriter err = new StringWriter();
      cmd.setErr(new PrintWriter(err, true));
      int[] status = {-1};
      Thread running =
          new Thread(
              () ->
                  status[0] =
                      cmd.execute(
                          "--listen",
                          "127.0.0.1:0",
                          "--target",
                          "127.0.0.1:" + target.getLocalPort(),
                          "--latency",
                          "20ms"),
              "relay-command");
      running.start();

      String first = out.next();
      Matcher m =
          Pattern.compile("relay listening on 127\\.0\\.0\\.1:(\\d+), target .*").matcher(first);
      assertThat(m.matches()).as(first).isTrue();
      assertThat(first).contains("up: latency 20ms; down: latency 20ms; refuse off");
      int port = Integer.parseInt(m.group(1));

      try (Socket c = new Socket(InetAddress.getLoopbackAddress(), port)) {
        c.setSoTimeout(5000);
        c.setTcpNoDelay(true);
        assertThat(roundTripMillis(c, 1))
            .as("round trip ms at 20ms each way")
            .isGreaterThanOrEqualTo(40);

        send(typed, "latency 100ms up");
        assertThat(out.next()).isEqualTo("ok: up: latency 100ms; down: latency 20ms; refuse off");
        assertThat(roundTripMillis(c, 2))
            .as("round trip ms at 100ms + 20ms")
            .isGreaterThanOrEqualTo(120);

        send(typed, "latency off");
        assertThat(out.next()).isEqualTo("ok: up: none; down: none; refuse off");
        send(typed, "blackhole on down");
        assertThat(out.next()).isEqualTo("ok: up: none; down: black hole; refuse off");
        c.setSoTimeout(300);
        c.getOutputStream().write(3);
        assertThatThrownBy(() -> c.getInputStream().read())
            .isInstanceOf(SocketTimeoutException.class);
        send(typed, "blackhole off");
        out.next();
        c.setSoTimeout(5000);
        assertThat(c.getInputStream().read()).isEqualTo(3);

        send(typed, "bandwidth 1MB");
        assertThat(out.next())
            .isEqualTo("ok: up: bandwidth 1048576 B/s; down: bandwidth 1048576 B/s; refuse off");
        send(typed, "close-after 10kB up");
        assertThat(out.next()).contains("up: bandwidth 1048576 B/s, close after 10240 B;");
        send(typed, "nonsense");
        assertThat(out.next()).isEqualTo("error: unknown command 'nonsense' (try help)");
        send(typed, "latency soon");
        assertThat(out.next()).startsWith("error: invalid value for latency: 'soon'");
        send(typed, "blackhole on sideways");
        assertThat(out.next()).isEqualTo("error: expected up, down or both, not 'sideways'");
        send(typed, "status");
        assertThat(out.next())
            .startsWith("ok: open=1 accepted=1 refused=0 resets=0 bytes up=3 down=3;");

        send(typed, "reset");
        assertThat(out.next()).isEqualTo("ok: reset 1 connection");
        assertThatThrownBy(() -> c.getInputStream().read())
            .isInstanceOf(SocketException.class)
            .hasMessageContaining("reset");
      }

      send(typed, "quit");
      running.join(10_000);
      assertThat(running.isAlive()).as("the relay command returned").isFalse();
      assertThat(status[0]).isZero();
      assertThat(err.toString()).isEmpty();
      target.close();
      echo.join(5_000);
      assertThat(echo.isAlive()).as("the echo server stopped").isFalse();
    }
  }

  private static void send(OutputStream typed, String line) throws IOException {
    typed.write((line + "\n").getBytes(StandardCharsets.UTF_8));
    typed.flush();
  }

  @Test
  void badFlagsAreOneLineUsageErrors() {
    Cli.Result noTarget = Cli.run(Map.of(), "relay");
    assertThat(noTarget.status()).isEqualTo(2);
    assertThat(noTarget.err()).startsWith("sluice: ").contains("--target");

    Cli.Result badLatency = Cli.run(Map.of(), "relay", "--target", "127.0.0.1:1", "--latency", "5");
    assertThat(badLatency.status()).isEqualTo(2);
    assertThat(badLatency.err().strip())
        .isEqualTo(
            "sluice: invalid value for --latency: '5' (expected a number with a unit: ms, s, m, h"
                + " or d, for example 500ms, 30s, 10m)");

    Cli.Result badTarget = Cli.run(Map.of(), "relay", "--target", "nowhere");
    assertThat(badTarget.status()).isEqualTo(2);
    assertThat(badTarget.err()).startsWith("sluice: invalid value for --target: 'nowhere'");
  }
}
