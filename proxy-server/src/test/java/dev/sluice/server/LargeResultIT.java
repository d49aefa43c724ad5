package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.ClientAuth;
import dev.sluice.config.PoolMode;
import dev.sluice.testing.PostgresExtension;
import dev.sluice.testing.PostgresServer;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufAllocatorMetric;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A 50 MB result for a client that reads slowly: Sluice must pass the backpressure on to PostgreSQL
 * instead of buffering the result.
 *
 * <p>pgjdbc reads whole results eagerly, so the client here is a minimal protocol client on a plain
 * socket with a small receive buffer: StartupMessage, cleartext password, one Query, then it reads
 * the answer in small slices with pauses, and stops reading altogether for a while.
 *
 * <p>Sluice runs in this JVM, so what it buffers shows in the metric of Netty's default allocator,
 * which every Sluice channel uses (SluiceServer sets no other). Nothing else in this JVM allocates
 * from it during the test: the raw client and pgjdbc do not use Netty.
 */
@ExtendWith(PostgresExtension.class)
class LargeResultIT {
  private static final int ROWS = 50_000;
  private static final int ROW_WIDTH = 1000;
  private static final String ROW_VALUE = "x".repeat(ROW_WIDTH);
  private static final String QUERY =
      "SELECT repeat('x', " + ROW_WIDTH + ") FROM generate_series(1, " + ROWS + ")";

  /** The reader takes this much, then sleeps {@link #READ_PAUSE_MS}: a few MB/s at most. */
  private static final int READ_SLICE = 32 * 1024;

  private static final long READ_PAUSE_MS = 5;
  private static final int CLIENT_RECEIVE_BUFFER = 64 * 1024;

  /**
   * The reader stops reading entirely once it has this many rows, until PostgreSQL has been seen
   * blocked for {@link #BLOCKED_FOR_MS}.
   */
  private static final int STALL_AFTER_ROWS = 2_000;

  private static final long STALL_LIMIT_MS = 15_000;

  /**
   * How long the backend must stay blocked on ClientWrite while the client stalls. A Sluice that
   * kept reading regardless also blocks PostgreSQL now and then while it is busy (for up to 2 s in
   * a row on a loaded machine, with paranoid leak detection), but not for 3 s: by then it has read
   * the whole result and the backend has gone idle.
   */
  private static final long BLOCKED_FOR_MS = 3_000;

  /**
   * Sluice's own buffering per relayed stream is bounded by the client channel's write-buffer high
   * water mark (1 MB) plus what one read loop on the backend channel can add before reading stops
   * (up to 16 reads of 64 KB), plus the decoder's cumulation buffers held by retained DataRow
   * slices: a few MB. The allocator reports reserved chunk memory, not live bytes (it does not
   * shrink at once when buffers are released, so earlier tests in this JVM raise the baseline: the
   * bound is on growth over it), and rounds up to chunks of up to 10 MB. Measured: about 6.5 MB at
   * most alone. A proxy that buffered the result would reserve at least the ~50 MB it holds (over
   * 80 MB with Sluice's autoRead toggle taken out).
   */
  private static final long MAX_ALLOCATOR_BYTES = 16L << 20;

  @Test
  void aSlowReaderGetsEveryRowWhileSluiceBuffersLittle(PostgresServer pg) throws Exception {
    // Netty 4.2's default is the AdaptiveByteBufAllocator, not PooledByteBufAllocator.DEFAULT:
    // measure whatever the default is, since that is what Sluice's channels allocate from.
    ByteBufAllocator allocator = ByteBufAllocator.DEFAULT;
    assertThat(allocator)
        .as("Netty's default allocator reports its memory use")
        .isInstanceOf(ByteBufAllocatorMetricProvider.class);
    ByteBufAllocatorMetric metric = ((ByteBufAllocatorMetricProvider) allocator).metric();

    try (TestSluice sluice =
            TestSluice.start(
                pg, b -> b.poolMode(PoolMode.TRANSACTION).clientAuth(ClientAuth.PASSWORD));
        Connection superuser = pg.connectSuper();
        RawClient client = RawClient.connect(sluice.port())) {
      client.login(pg.appUser(), pg.appDatabase(), pg.appPassword());
      long baseline = used(metric);

      AtomicLong maxUsed = new AtomicLong(baseline);
      AtomicBoolean sampling = new AtomicBoolean(true);
      Thread sampler =
          new Thread(
              () -> {
                while (sampling.get()) {
                  maxUsed.accumulateAndGet(used(metric), Math::max);
                  sleep(20);
                }
              },
              "allocator-sampler");
      sampler.setDaemon(true);
      sampler.start();

      client.query(QUERY);
      Result result;
      long blockedMs;
      long stalledMs;
      long readMs;
      try {
        client.expectRowDescription();
        int rows = client.readDataRows(STALL_AFTER_ROWS, ROW_VALUE);

        // The client stops reading: Sluice must stop reading from the backend, which then
        // blocks on its socket, waiting for ClientWrite, for as long as the client stalls.
        long stallStart = System.nanoTime();
        blockedMs = awaitBlockedBackend(superuser, STALL_LIMIT_MS);
        stalledMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - stallStart);

        client.throttle(true);
        long readStart = System.nanoTime();
        result = client.readRest(rows, ROW_VALUE);
        readMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - readStart);
      } finally {
        sampling.set(false);
        sampler.join();
      }
      System.err.printf(
          "LargeResultIT: allocator baseline %d, max %d bytes; backend blocked on ClientWrite"
              + " for %d ms of a %d ms stall; slow read of the rest took %d ms%n",
          baseline, maxUsed.get(), blockedMs, stalledMs, readMs);

      assertThat(result.rows()).as("DataRows received").isEqualTo(ROWS);
      assertThat(result.commandTag()).isEqualTo("SELECT " + ROWS);
      assertThat(result.status()).as("ReadyForQuery status").isEqualTo('I');
      assertThat(maxUsed.get()).as("Sluice allocated from the default allocator").isPositive();
      // Growth over the baseline: other tests in this JVM leave the pooled arenas larger.
      assertThat(maxUsed.get() - baseline)
          .as("allocator bytes in use beyond the baseline %d", baseline)
          .isLessThan(MAX_ALLOCATOR_BYTES);
      assertThat(blockedMs)
          .as(
              "ms the backend stayed blocked on ClientWrite while the client stalled %d ms",
              stalledMs)
          .isGreaterThanOrEqualTo(BLOCKED_FOR_MS);

      // The session is fine afterwards.
      client.query("SELECT 1");
      client.expectRowDescription();
      Result one = client.readRest(0, "1");
      assertThat(one.rows()).isEqualTo(1);
      assertThat(one.commandTag()).isEqualTo("SELECT 1");
    }
  }

  private static long used(ByteBufAllocatorMetric metric) {
    return metric.usedDirectMemory() + metric.usedHeapMemory();
  }

  /**
   * Polls pg_stat_activity while the client stalls, until the backend running {@link #QUERY} has
   * been seen waiting on ClientWrite in every sample for {@link #BLOCKED_FOR_MS}, or {@code
   * limitMs} passed. A backend that is merely faster than its reader waits on ClientWrite now and
   * then; one whose reader passes the backpressure on stays blocked as long as the client does.
   *
   * @return the longest unbroken stretch of ClientWrite samples, in ms
   */
  private static long awaitBlockedBackend(Connection superuser, long limitMs) throws SQLException {
    String sql =
        "SELECT count(*) FROM pg_stat_activity"
            + " WHERE backend_type = 'client backend' AND state = 'active'"
            + " AND wait_event_type = 'Client' AND wait_event = 'ClientWrite' AND query = ?";
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(limitMs);
    long longest = 0;
    long streakStart = -1;
    try (PreparedStatement ps = superuser.prepareStatement(sql)) {
      ps.setString(1, QUERY);
      while (System.nanoTime() < deadline) {
        long now = System.nanoTime();
        boolean blocked;
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          blocked = rs.getInt(1) > 0;
        }
        if (!blocked) {
          streakStart = -1;
        } else if (streakStart < 0) {
          streakStart = now;
        } else {
          longest = Math.max(longest, TimeUnit.NANOSECONDS.toMillis(now - streakStart));
          if (longest >= BLOCKED_FOR_MS) {
            return longest;
          }
        }
        sleep(50);
      }
    }
    return longest;
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  record Result(int rows, String commandTag, char status) {}

  /**
   * Just enough of the frontend protocol for one cleartext login and simple queries with a text
   * result of one column; reads through a small buffer, optionally pausing after every slice.
   */
  private static final class RawClient implements AutoCloseable {
    private final Socket socket;
    private final InputStream in;
    private final DataOutputStream out;
    private final byte[] buf = new byte[READ_SLICE];
    private int pos;
    private int limit;
    private boolean throttled;

    private RawClient(Socket socket) throws IOException {
      this.socket = socket;
      this.in = socket.getInputStream();
      this.out = new DataOutputStream(new BufferedOutputStream(socket.getOutputStream()));
    }

    static RawClient connect(int port) throws IOException {
      Socket s = new Socket();
      // Set before connect, so the TCP window is small from the start.
      s.setReceiveBufferSize(CLIENT_RECEIVE_BUFFER);
      s.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
      s.setSoTimeout(60_000);
      return new RawClient(s);
    }

    void throttle(boolean on) {
      throttled = on;
    }

    void login(String user, String database, String password) throws IOException {
      ByteArrayOutputStream body = new ByteArrayOutputStream();
      DataOutputStream b = new DataOutputStream(body);
      b.writeInt(196608); // protocol 3.0
      cstring(b, "user");
      cstring(b, user);
      cstring(b, "database");
      cstring(b, database);
      b.writeByte(0);
      out.writeInt(4 + body.size());
      body.writeTo(out);
      out.flush();

      for (; ; ) {
        char type = (char) readByte();
        int len = readInt() - 4;
        switch (type) {
          case 'R' -> {
            int code = readInt();
            skip(len - 4);
            if (code == 3) {
              byte[] pw = (password + "\0").getBytes(StandardCharsets.UTF_8);
              out.writeByte('p');
              out.writeInt(4 + pw.length);
              out.write(pw);
              out.flush();
            } else if (code != 0) {
              throw new IllegalStateException("unexpected authentication request " + code);
            }
          }
          case 'E' -> throw new IllegalStateException("login failed: " + errorText(len));
          case 'Z' -> {
            skip(len);
            return;
          }
          default -> skip(len);
        }
      }
    }

    void query(String sql) throws IOException {
      byte[] text = (sql + "\0").getBytes(StandardCharsets.UTF_8);
      out.writeByte('Q');
      out.writeInt(4 + text.length);
      out.write(text);
      out.flush();
    }

    void expectRowDescription() throws IOException {
      char type = (char) readByte();
      int len = readInt() - 4;
      if (type == 'E') {
        throw new IllegalStateException("query failed: " + errorText(len));
      }
      if (type != 'T') {
        throw new IllegalStateException("expected RowDescription, got '" + type + "'");
      }
      skip(len);
    }

    /** Reads exactly {@code n} DataRows, each one column holding {@code value}. */
    int readDataRows(int n, String value) throws IOException {
      byte[] expected = value.getBytes(StandardCharsets.UTF_8);
      for (int i = 0; i < n; i++) {
        char type = (char) readByte();
        int len = readInt() - 4;
        if (type != 'D') {
          throw new IllegalStateException("expected DataRow " + i + ", got '" + type + "'");
        }
        readDataRowBody(len, expected);
      }
      return n;
    }

    /**
     * Reads DataRows (each one column holding {@code value}) until CommandComplete and
     * ReadyForQuery; {@code seen} rows came before.
     */
    Result readRest(int seen, String value) throws IOException {
      byte[] expected = value.getBytes(StandardCharsets.UTF_8);
      int rows = seen;
      String tag = null;
      for (; ; ) {
        char type = (char) readByte();
        int len = readInt() - 4;
        switch (type) {
          case 'D' -> {
            readDataRowBody(len, expected);
            rows++;
          }
          case 'C' -> tag = cstringBody(len);
          case 'E' ->
              throw new IllegalStateException("error after " + rows + ": " + errorText(len));
          case 'Z' -> {
            char status = (char) readByte();
            return new Result(rows, tag, status);
          }
          default -> skip(len);
        }
      }
    }

    private void readDataRowBody(int len, byte[] expected) throws IOException {
      int columns = readShort();
      int width = readInt();
      if (columns != 1 || width != expected.length || len != 2 + 4 + width) {
        throw new IllegalStateException(
            "unexpected DataRow: " + columns + " columns, width " + width + ", length " + len);
      }
      for (int i = 0; i < width; i++) {
        if (readByte() != (expected[i] & 0xFF)) {
          throw new IllegalStateException("unexpected byte in DataRow at " + i);
        }
      }
    }

    private String errorText(int len) throws IOException {
      byte[] b = new byte[len];
      for (int i = 0; i < len; i++) {
        b[i] = (byte) readByte();
      }
      return new String(b, StandardCharsets.UTF_8).replace('\0', ' ').trim();
    }

    private String cstringBody(int len) throws IOException {
      byte[] b = new byte[len];
      for (int i = 0; i < len; i++) {
        b[i] = (byte) readByte();
      }
      return new String(b, 0, len - 1, StandardCharsets.UTF_8);
    }

    private int readByte() throws IOException {
      if (pos == limit) {
        fill();
      }
      return buf[pos++] & 0xFF;
    }

    private int readShort() throws IOException {
      return (readByte() << 8) | readByte();
    }

    private int readInt() throws IOException {
      return (readByte() << 24) | (readByte() << 16) | (readByte() << 8) | readByte();
    }

    private void skip(int n) throws IOException {
      for (int i = 0; i < n; i++) {
        readByte();
      }
    }

    /** Takes at most one slice from the socket; when throttled, pauses after each. */
    private void fill() throws IOException {
      if (throttled) {
        sleep(READ_PAUSE_MS);
      }
      int n = in.read(buf, 0, buf.length);
      if (n < 0) {
        throw new EOFException("Sluice closed the connection");
      }
      pos = 0;
      limit = n;
    }

    private static void cstring(DataOutputStream b, String s) throws IOException {
      b.write(s.getBytes(StandardCharsets.UTF_8));
      b.writeByte(0);
    }

    @Override
    public void close() throws IOException {
      try {
        out.writeByte('X');
        out.writeInt(4);
        out.flush();
      } catch (IOException e) {
        // already gone
      } finally {
        socket.close();
      }
    }
  }
}
