package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.sluice.config.TlsMode;
import dev.sluice.protocol.ProtocolCodes;
import dev.sluice.protocol.backend.ErrorResponse;
import dev.sluice.protocol.frontend.StartupMessage;
import dev.sluice.testing.PostgresExtension;
import dev.sluice.testing.PostgresServer;
import dev.sluice.testing.TestCertificates;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
import io.netty.buffer.Unpooled;
import io.netty.pkitesting.X509Bundle;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.slf4j.LoggerFactory;

/**
 * Connections that never finish logging in, or that declare huge messages before they have, cost
 * Sluice almost nothing and cannot keep an honest client out.
 */
@ExtendWith(PostgresExtension.class)
class LoginLimitsIT {
  private static final int MB = 1 << 20;
  private static final Duration LOGIN_TIMEOUT = Duration.ofSeconds(5);

  private final PostgresServer pg;

  LoginLimitsIT(PostgresServer pg) {
    this.pg = pg;
  }

  /** A startup packet as the app user; Sluice answers with an authentication request. */
  private byte[] startupPacket() {
    Map<String, String> p = new LinkedHashMap<>();
    p.put("user", pg.appUser());
    p.put("database", pg.appDatabase());
    ByteBuf b = Unpooled.buffer();
    new StartupMessage(ProtocolCodes.PROTOCOL_3_0, p).encode(b);
    byte[] out = new byte[b.readableBytes()];
    b.readBytes(out);
    b.release();
    return out;
  }

  /** Reads one message: its type and body. */
  private static Object[] readMessage(DataInputStream in) throws IOException {
    char type = (char) in.readByte();
    byte[] body = new byte[in.readInt() - 4];
    in.readFully(body);
    return new Object[] {type, body};
  }

  /** Milliseconds an honest login (SCRAM, then one query) takes through Sluice right now. */
  private long honestLoginMillis(TestSluice s) throws IOException {
    long t0 = System.nanoTime();
    try (RawClient c = RawClient.connect(s, pg)) {
      long took = (System.nanoTime() - t0) / 1_000_000;
      assertThat(c.queryValue("SELECT 42")).isEqualTo("42");
      return took;
    }
  }

  /** Milliseconds an honest client takes to connect, log in and run SELECT 1. */
  private long honestQueryMillis(TestSluice s) throws IOException {
    long t0 = System.nanoTime();
    try (RawClient c = RawClient.connect(s, pg)) {
      assertThat(c.queryValue("SELECT 1")).isEqualTo("1");
      return (System.nanoTime() - t0) / 1_000_000;
    }
  }

  private static long rssBytes() throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
      }
    }
    throw new IllegalStateException("no VmRSS in /proc/self/status");
  }

  private static long allocatorBytes() {
    var m = ((ByteBufAllocatorMetricProvider) ByteBufAllocator.DEFAULT).metric();
    return m.usedDirectMemory() + m.usedHeapMemory();
  }

  @Test
  void hugePasswordMessagesBeforeLoginAreRefusedBeforeAnythingIsBuffered() throws Exception {
    try (TestSluice s = TestSluice.start(pg, b -> b.minIdle(1))) {
      honestLoginMillis(s); // warm up: pool, code paths
      System.gc();
      long rssBefore = rssBytes();
      long allocBefore = allocatorBytes();
      List<Socket> attackers = new ArrayList<>();
      try {
        for (int i = 0; i < 100; i++) {
          Socket a = new Socket("127.0.0.1", s.port());
          a.setSoTimeout(10_000);
          attackers.add(a);
          a.getOutputStream().write(startupPacket());
          DataInputStream in = new DataInputStream(a.getInputStream());
          assertThat(readMessage(in)[0]).isEqualTo('R'); // AuthenticationSASL
          // SASLInitialResponse declaring 100 MB, and the first kilobyte of it
          ByteBuf p = Unpooled.buffer().writeByte('p').writeInt(100 * MB);
          p.writeBytes(new byte[1024]);
          a.getOutputStream().write(Arrays.copyOf(p.array(), p.writerIndex()));
          p.release();
        }
        long honest = honestLoginMillis(s);
        for (Socket a : attackers) {
          Object[] m = readMessage(new DataInputStream(a.getInputStream()));
          assertThat(m[0]).isEqualTo('E');
          assertThat(ErrorResponse.decode(Unpooled.wrappedBuffer((byte[]) m[1])).sqlState())
              .isEqualTo("08P01");
        }
        long rssGrowth = rssBytes() - rssBefore;
        long allocGrowth = allocatorBytes() - allocBefore;
        System.out.printf(
            "LoginLimitsIT: 100 declared 100 MB passwords: RSS %+d kB, allocator %+d kB,"
                + " honest login %d ms%n",
            rssGrowth / 1024, allocGrowth / 1024, honest);
        assertThat(rssGrowth).as("RSS growth").isLessThan(50L * MB);
        assertThat(allocGrowth).as("pooled buffer growth").isLessThan(8L * MB);
        assertThat(honest).as("honest login meanwhile, ms").isLessThan(100);
      } finally {
        for (Socket a : attackers) {
          a.close();
        }
      }
    }
  }

  /**
   * Slow-loris: 5,000 connections that say nothing, send part of a startup packet, or stop after
   * the authentication request. An honest client connects and runs a query meanwhile in under 100
   * ms; the login timeout closes every one of the 5,000. (Two sockets each in this JVM: mind {@code
   * ulimit -n}, 20,000 here.)
   */
  @Test
  void halfOpenLoginsNeitherLockOutHonestClientsNorFloodTheLog() throws Exception {
    int n = 5000;
    Logger sluiceLog = (Logger) LoggerFactory.getLogger("dev.sluice");
    ListAppender<ILoggingEvent> lines = new ListAppender<>();
    lines.start();
    try (TestSluice s =
        TestSluice.start(
            pg,
            b ->
                b.minIdle(1)
                    .maxClientConnections(50)
                    .maxPendingLogins(n + 100)
                    // long enough that all are open before the first times out
                    .clientLoginTimeout(LOGIN_TIMEOUT))) {
      honestQueryMillis(s);
      sluiceLog.addAppender(lines);
      List<Socket> halfOpen = new ArrayList<>();
      try {
        byte[] startup = startupPacket();
        for (int i = 0; i < n; i++) {
          Socket h = new Socket("127.0.0.1", s.port());
          halfOpen.add(h);
          if (i % 3 == 1) {
            h.getOutputStream().write(startup, 0, 6); // a startup packet that never ends
          } else if (i % 3 == 2) {
            // as far as the authentication request, then nothing more
            h.getOutputStream().write(startup);
          }
        }
        awaitPendingLogins(s, n);
        for (int i = 2; i < halfOpen.size(); i += 3) {
          // each has its authentication request: all are half-open now
          halfOpen.get(i).setSoTimeout(10_000);
          assertThat(readMessage(new DataInputStream(halfOpen.get(i).getInputStream()))[0])
              .isEqualTo('R');
        }
        long opened = System.nanoTime();
        long[] honest = new long[5];
        for (int i = 0; i < honest.length; i++) {
          honest[i] = honestQueryMillis(s);
        }
        System.out.printf(
            "LoginLimitsIT: honest connect + SELECT 1 among %d half-open: %s ms%n",
            n, Arrays.toString(honest));
        long[] sorted = honest.clone();
        Arrays.sort(sorted);
        assertThat(sorted[honest.length / 2])
            .as("median honest connect + query among %d half-open logins, ms", n)
            .isLessThan(100);

        // every half-open connection is closed by the login timeout
        for (Socket h : halfOpen) {
          h.setSoTimeout(10_000);
          assertThat(readsToEnd(h)).as("half-open connection closed by Sluice").isTrue();
        }
        long closedAfter = (System.nanoTime() - opened) / 1_000_000;
        assertThat(closedAfter)
            .as("ms until all were closed")
            .isLessThan(LOGIN_TIMEOUT.toMillis() + 7_000);
        awaitPendingLogins(s, 0);

        // thousands of login timeouts: one full line, then a summary when the 10 s window ends
        awaitSummary(lines);
        List<String> messages =
            lines.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
        System.out.printf("LoginLimitsIT: %d login timeouts logged as %s%n", n, messages);
        assertThat(messages).as("log lines for %d login timeouts", n).hasSizeLessThanOrEqualTo(4);
        assertThat(messages)
            .anySatisfy(m -> assertThat(m).contains("… and ").contains(" more in the last "));
      } finally {
        sluiceLog.detachAppender(lines);
        for (Socket h : halfOpen) {
          h.close();
        }
      }
    }
  }

  @Test
  void aNewConnectionPushesOutTheOldestHalfOpenOneBeyondMaxPendingLogins() throws Exception {
    try (TestSluice s =
        TestSluice.start(
            pg,
            b -> b.minIdle(1).maxPendingLogins(100).clientLoginTimeout(Duration.ofSeconds(60)))) {
      List<Socket> halfOpen = new ArrayList<>();
      try {
        for (int i = 0; i < 150; i++) {
          Socket h = new Socket("127.0.0.1", s.port());
          h.getOutputStream().write(startupPacket());
          halfOpen.add(h);
          h.setSoTimeout(10_000);
          assertThat(readMessage(new DataInputStream(h.getInputStream()))[0]).isEqualTo('R');
        }
        // the 50 oldest were pushed out, each with 53300, long before the login timeout
        for (Socket h : halfOpen.subList(0, 50)) {
          Object[] m = readMessage(new DataInputStream(h.getInputStream()));
          assertThat(m[0]).isEqualTo('E');
          assertThat(ErrorResponse.decode(Unpooled.wrappedBuffer((byte[]) m[1])).sqlState())
              .isEqualTo("53300");
        }
        awaitPendingLogins(s, 100);
        // an honest client pushes out one more and logs in
        assertThat(honestLoginMillis(s)).isLessThan(100);
        awaitPendingLogins(s, 99);
      } finally {
        for (Socket h : halfOpen) {
          h.close();
        }
      }
    }
  }

  /**
   * Slow-loris in the TLS handshake: connections that send SSLRequest, get 'S', then stall (say
   * nothing, or half a ClientHello) are closed by the login timeout too, while an honest TLS client
   * gets in.
   */
  @Test
  void connectionsStalledInTheTlsHandshakeAreClosedByTheLoginTimeout() throws Exception {
    Path dir = Files.createTempDirectory("sluice-slow-tls");
    X509Bundle cert = TestCertificates.server("localhost", "localhost");
    Path crt = Files.writeString(dir.resolve("sluice.crt"), cert.getCertificatePEM());
    Path key = Files.writeString(dir.resolve("sluice.key"), cert.getPrivateKeyPEM());
    int n = 500;
    try (TestSluice s =
        TestSluice.start(
            pg,
            b ->
                b.tlsMode(TlsMode.ALLOW)
                    .tlsCert(crt.toString())
                    .tlsKey(key.toString())
                    .maxPendingLogins(n + 100)
                    .clientLoginTimeout(Duration.ofSeconds(3)))) {
      List<Socket> stalled = new ArrayList<>();
      try {
        for (int i = 0; i < n; i++) {
          Socket h = new Socket("127.0.0.1", s.port());
          stalled.add(h);
          h.setSoTimeout(10_000);
          h.getOutputStream().write(new byte[] {0, 0, 0, 8, 4, (byte) 0xd2, 0x16, 0x2f});
          assertThat(h.getInputStream().read()).isEqualTo('S');
          if (i % 2 == 1) {
            // a TLS record header promising a ClientHello that never comes
            h.getOutputStream().write(new byte[] {0x16, 0x03, 0x01, 0x02, 0x00, 0x01});
          }
        }
        awaitPendingLogins(s, n);
        long t0 = System.nanoTime();
        try (Connection c =
                DriverManager.getConnection(
                    s.jdbcUrl(),
                    TestSluice.props(
                        "user", pg.appUser(), "password", pg.appPassword(), "sslmode", "require"));
            ResultSet rs = c.createStatement().executeQuery("SELECT 1")) {
          assertThat(rs.next()).isTrue();
        }
        System.out.printf(
            "LoginLimitsIT: honest TLS client among %d stalled handshakes: %d ms%n",
            n, (System.nanoTime() - t0) / 1_000_000);
        for (Socket h : stalled) {
          assertThat(readsToEnd(h)).as("stalled handshake closed by Sluice").isTrue();
        }
        awaitPendingLogins(s, 0);
      } finally {
        for (Socket h : stalled) {
          h.close();
        }
      }
    }
  }

  private static void awaitPendingLogins(TestSluice s, int n) throws InterruptedException {
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (s.server.pendingLogins() != n) {
      assertThat(System.nanoTime()).as("%d pending logins", n).isLessThan(deadline);
      Thread.sleep(5);
    }
  }

  /** Waits (up to 15 s) for the throttle's summary line. */
  private static void awaitSummary(ListAppender<ILoggingEvent> lines) throws InterruptedException {
    long deadline = System.nanoTime() + 15_000_000_000L;
    while (lines.list.stream().noneMatch(e -> e.getFormattedMessage().contains("… and "))) {
      assertThat(System.nanoTime()).as("summary line written").isLessThan(deadline);
      Thread.sleep(50);
    }
  }

  /** Reads until Sluice closes the connection: true on end of stream. */
  private static boolean readsToEnd(Socket s) throws IOException {
    byte[] buf = new byte[4096];
    try {
      while (s.getInputStream().read(buf) >= 0) {
        // the error Sluice sends before closing, if any
      }
      return true;
    } catch (SocketTimeoutException e) {
      return false;
    } catch (EOFException e) {
      return true;
    } catch (IOException e) {
      // reset by peer: closed too
      return true;
    }
  }
}
