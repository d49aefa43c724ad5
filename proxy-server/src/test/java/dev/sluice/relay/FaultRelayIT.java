package dev.sluice.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The fault relay on its own, between two sockets the test holds both ends of. */
class FaultRelayIT {
  private TargetServer target;
  private FaultRelay relay;

  @BeforeEach
  void start() throws IOException {
    target = new TargetServer();
    relay =
        FaultRelay.start(
            new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), target.address());
  }

  @AfterEach
  void stop() throws Exception {
    relay.close();
    target.close();
  }

  /** A client socket through the relay and the target's end of it, with a byte each way. */
  private record Pair(Socket client, Socket server) implements AutoCloseable {
    @Override
    public void close() throws IOException {
      client.close();
      server.close();
    }
  }

  private Pair connect() throws Exception {
    Socket c = new Socket(InetAddress.getLoopbackAddress(), relay.port());
    c.setSoTimeout(10_000);
    c.setTcpNoDelay(true);
    Socket s = target.accepted();
    Pair p = new Pair(c, s);
    c.getOutputStream().write('?');
    assertThat(s.getInputStream().read()).isEqualTo('?');
    s.getOutputStream().write('!');
    assertThat(c.getInputStream().read()).isEqualTo('!');
    return p;
  }

  private static byte[] random(int n, long seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  private static byte[] readExactly(Socket s, int n) throws IOException {
    return s.getInputStream().readNBytes(n);
  }

  /** Writes on another thread, so that a test can read the other end at the same time. */
  private static CompletableFuture<Void> writeAsync(Socket s, byte[] bytes, int chunk) {
    return CompletableFuture.runAsync(
        () -> {
          try {
            for (int off = 0; off < bytes.length; off += chunk) {
              s.getOutputStream().write(bytes, off, Math.min(chunk, bytes.length - off));
            }
          } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
          }
        });
  }

  private static void awaitOpen(FaultRelay relay, int open) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (relay.stats().open() != open) {
      assertThat(System.nanoTime()).as("%d connections open", open).isLessThan(deadline);
      Thread.sleep(10);
    }
  }

  @Test
  void passesBytesBothWaysInOrderAndCountsThem() throws Exception {
    try (Pair p = connect()) {
      byte[] up = random(1 << 20, 1);
      byte[] down = random(512 << 10, 2);
      CompletableFuture<Void> writing = writeAsync(p.client(), up, 8192);
      CompletableFuture<Void> answering = writeAsync(p.server(), down, 3000);
      assertThat(readExactly(p.server(), up.length)).isEqualTo(up);
      assertThat(readExactly(p.client(), down.length)).isEqualTo(down);
      writing.get(5, TimeUnit.SECONDS);
      answering.get(5, TimeUnit.SECONDS);

      RelayLink link = relay.links().get(0);
      assertThat(link.bytesForwarded(Direction.UPSTREAM)).isEqualTo(1 + up.length);
      assertThat(link.bytesForwarded(Direction.DOWNSTREAM)).isEqualTo(1 + down.length);
      assertThat(link.targetSideAddress().getPort()).isEqualTo(p.server().getPort());
      assertThat(link.clientAddress().getPort()).isEqualTo(p.client().getLocalPort());
      RelayStats stats = relay.stats();
      assertThat(stats.accepted()).isEqualTo(1);
      assertThat(stats.open()).isEqualTo(1);
      assertThat(stats.bytesUpstream()).isEqualTo(1 + up.length);
      assertThat(stats.bytesDownstream()).isEqualTo(1 + down.length);
    }
    awaitOpen(relay, 0);
  }

  @Test
  void latencyDelaysEachDirectionAndKeepsOrderWhenChanged() throws Exception {
    try (Pair p = connect()) {
      relay.latency(Duration.ofMillis(50));
      long t0 = System.nanoTime();
      p.client().getOutputStream().write(1);
      assertThat(p.server().getInputStream().read()).isEqualTo(1);
      long oneWay = System.nanoTime() - t0;
      p.server().getOutputStream().write(2);
      assertThat(p.client().getInputStream().read()).isEqualTo(2);
      long roundTrip = System.nanoTime() - t0;
      assertThat(oneWay).as("one way").isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(50));
      assertThat(roundTrip)
          .as("round trip")
          .isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(100));

      // 200 numbered writes; halfway the latency drops to none: later bytes must not overtake.
      ByteBuffer sent = ByteBuffer.allocate(200 * 4);
      for (int i = 0; i < 200; i++) {
        if (i == 100) {
          relay.update(Set.of(Direction.UPSTREAM), f -> f.withLatency(Duration.ZERO));
        }
        byte[] n = ByteBuffer.allocate(4).putInt(i).array();
        sent.put(n);
        p.client().getOutputStream().write(n);
      }
      assertThat(readExactly(p.server(), 800)).isEqualTo(sent.array());
      assertThat(relay.faults(Direction.UPSTREAM).latency()).isZero();
      assertThat(relay.faults(Direction.DOWNSTREAM).latency()).isEqualTo(Duration.ofMillis(50));
    }
  }

  @Test
  void bandwidthLimitsADirection() throws Exception {
    try (Pair p = connect()) {
      long rate = 512 * 1024;
      relay.update(Set.of(Direction.UPSTREAM), f -> f.withBandwidth(rate));
      byte[] up = random(512 * 1024, 3);
      long t0 = System.nanoTime();
      CompletableFuture<Void> writing = writeAsync(p.client(), up, 16384);
      assertThat(readExactly(p.server(), up.length)).isEqualTo(up);
      long upMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
      writing.get(5, TimeUnit.SECONDS);
      // 512 kB at 512 kB/s: a second, give or take the scheduler
      assertThat(upMillis).as("upstream ms").isBetween(950L, 3000L);

      byte[] down = random(512 * 1024, 4);
      long t1 = System.nanoTime();
      CompletableFuture<Void> answering = writeAsync(p.server(), down, 16384);
      assertThat(readExactly(p.client(), down.length)).isEqualTo(down);
      long downMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t1);
      answering.get(5, TimeUnit.SECONDS);
      assertThat(downMillis).as("downstream ms, not limited").isLessThan(500L);
    }
  }

  @Test
  void resetReachesBothPeersAtOnce() throws Exception {
    try (Pair p = connect()) {
      p.client().setSoTimeout(1000);
      p.server().setSoTimeout(1000);
      long t0 = System.nanoTime();
      assertThat(relay.resetAll()).isEqualTo(1);
      assertThatThrownBy(() -> p.client().getInputStream().read())
          .isInstanceOf(SocketException.class)
          .hasMessageContaining("reset");
      assertThatThrownBy(() -> p.server().getInputStream().read())
          .isInstanceOf(SocketException.class)
          .hasMessageContaining("reset");
      assertThat(System.nanoTime() - t0).isLessThan(TimeUnit.SECONDS.toNanos(1));
      awaitOpen(relay, 0);
      assertThat(relay.stats().resets()).isEqualTo(1);
    }
  }

  @Test
  void closeAfterPassesExactlyThatManyBytesThenCloses() throws Exception {
    try (Pair p = connect()) {
      byte[] before = random(500, 5);
      p.client().getOutputStream().write(before);
      assertThat(readExactly(p.server(), 500)).isEqualTo(before);

      // Set on an open connection, the limit counts from now.
      relay.update(Set.of(Direction.UPSTREAM), f -> f.withCloseAfter(1000));
      byte[] after = random(5000, 6);
      p.client().getOutputStream().write(after);
      InputStream server = p.server().getInputStream();
      assertThat(server.readAllBytes()).isEqualTo(Arrays.copyOf(after, 1000));
      // the client's end closes too: a FIN, or a RST when its last bytes were still unread
      assertThatClosed(p.client());
      awaitOpen(relay, 0);
      assertThat(relay.stats().bytesUpstream()).isEqualTo(1 + 500 + 1000);
    }
  }

  @Test
  void closeAfterCountsNewConnectionsFromTheirStart() throws Exception {
    relay.update(Set.of(Direction.DOWNSTREAM), f -> f.withCloseAfter(100));
    try (Socket c = new Socket(InetAddress.getLoopbackAddress(), relay.port());
        Socket s = target.accepted()) {
      c.setSoTimeout(10_000);
      byte[] answer = random(3000, 7);
      s.getOutputStream().write(answer);
      assertThat(c.getInputStream().readAllBytes()).isEqualTo(Arrays.copyOf(answer, 100));
    }
  }

  private static void assertThatClosed(Socket s) {
    try {
      assertThat(s.getInputStream().read()).isEqualTo(-1);
    } catch (IOException e) {
      assertThat(e).isInstanceOf(SocketException.class).hasMessageContaining("reset");
    }
  }

  @Test
  void aBlackHoleHoldsBytesUntilItEnds() throws Exception {
    try (Pair p = connect()) {
      relay.blackHole(true);
      p.client().getOutputStream().write("hello".getBytes());
      p.server().getOutputStream().write("world".getBytes());
      p.server().setSoTimeout(300);
      p.client().setSoTimeout(300);
      assertThatThrownBy(() -> p.server().getInputStream().read())
          .isInstanceOf(SocketTimeoutException.class);
      assertThatThrownBy(() -> p.client().getInputStream().read())
          .isInstanceOf(SocketTimeoutException.class);
      RelayStats during = relay.stats();
      assertThat(during.bytesUpstream()).isEqualTo(1);
      assertThat(during.bytesDownstream()).isEqualTo(1);

      relay.blackHole(false);
      p.server().setSoTimeout(5000);
      p.client().setSoTimeout(5000);
      assertThat(new String(readExactly(p.server(), 5))).isEqualTo("hello");
      assertThat(new String(readExactly(p.client(), 5))).isEqualTo("world");
    }
  }

  @Test
  void aBlackHoleOfOneConnectionLeavesTheOthersAlone() throws Exception {
    try (Pair lost = connect();
        Pair other = connect()) {
      RelayLink link =
          relay.links().stream()
              .filter(l -> l.clientAddress().getPort() == lost.client().getLocalPort())
              .findFirst()
              .orElseThrow();
      link.update(Direction.BOTH, f -> f.withBlackHole(true));
      assertThat(link.faults(Direction.UPSTREAM).blackHole()).isTrue();
      assertThat(relay.faults(Direction.UPSTREAM).blackHole()).isFalse();

      lost.client().getOutputStream().write(1);
      other.client().getOutputStream().write(2);
      assertThat(other.server().getInputStream().read()).isEqualTo(2);
      try (Pair fresh = connect()) {
        fresh.client().getOutputStream().write(3);
        assertThat(fresh.server().getInputStream().read()).isEqualTo(3);
      }
      lost.server().setSoTimeout(300);
      assertThatThrownBy(() -> lost.server().getInputStream().read())
          .isInstanceOf(SocketTimeoutException.class);
      assertThat(link.bytesForwarded(Direction.UPSTREAM)).isEqualTo(1);
    }
  }

  @Test
  void refusedConnectionsAreResetWhileOpenOnesCarryOn() throws Exception {
    try (Pair p = connect()) {
      relay.refuse(true);
      try (Socket refused = new Socket(InetAddress.getLoopbackAddress(), relay.port())) {
        refused.setSoTimeout(5000);
        assertThatClosed(refused);
      }
      p.client().getOutputStream().write(7);
      assertThat(p.server().getInputStream().read()).isEqualTo(7);
      relay.refuse(false);
      try (Pair again = connect()) {
        assertThat(relay.stats().refused()).isEqualTo(1);
        assertThat(relay.stats().accepted()).isEqualTo(3);
      }
    }
  }

  @Test
  void aClientOfAnUnreachableTargetIsReset() throws Exception {
    int nobody = dev.sluice.testing.FreePorts.find();
    try (FaultRelay toNowhere =
            FaultRelay.start(
                new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                new InetSocketAddress(InetAddress.getLoopbackAddress(), nobody));
        Socket c = new Socket(InetAddress.getLoopbackAddress(), toNowhere.port())) {
      c.setSoTimeout(5000);
      assertThatClosed(c);
      awaitOpen(toNowhere, 0);
    }
  }
}
