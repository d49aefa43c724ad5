package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.config.PoolMode;
import dev.sluice.testing.PostgresExtension;
import dev.sluice.testing.PostgresServer;
import java.io.IOException;
import java.io.Reader;
import java.io.StringReader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.CRC32;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyManager;
import org.postgresql.util.PSQLException;

/**
 * COPY through Sluice with pgjdbc's {@link CopyManager}, in both pooling modes: bulk COPY IN and
 * COPY OUT, a COPY IN the server rejects half way, and COPY IN inside a transaction rolled back.
 * Each mode has its own tables, named after it.
 */
@ExtendWith(PostgresExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CopyIT {
  private static final int ROWS = 100_000;
  private static final String BAD_ID = "not-a-number";

  private PostgresServer pg;
  private TestSluice transaction;
  private TestSluice session;

  @BeforeAll
  void start(PostgresServer pg) {
    this.pg = pg;
    transaction = TestSluice.start(pg, PoolMode.TRANSACTION);
    session = TestSluice.start(pg, PoolMode.SESSION);
  }

  @AfterAll
  void stop() {
    if (transaction != null) {
      transaction.close();
    }
    if (session != null) {
      session.close();
    }
  }

  private TestSluice sluice(PoolMode mode) {
    return mode == PoolMode.TRANSACTION ? transaction : session;
  }

  /** A fresh, empty table {@code copy_<what>_<mode>} (id int, label text); returns its name. */
  private String freshTable(String what, PoolMode mode) throws SQLException {
    String table = "copy_" + what + "_" + mode.flagValue();
    try (Connection c = pg.connectApp();
        Statement st = c.createStatement()) {
      st.execute("DROP TABLE IF EXISTS " + table);
      st.execute("CREATE TABLE " + table + " (id int NOT NULL, label text NOT NULL)");
    }
    return table;
  }

  /** Line {@code i} of the COPY text both directions use: {@code i<TAB>row-i<TAB>...<NL>}. */
  private static String line(int i) {
    return i + "\trow-" + i + "-" + Integer.toHexString(i * 7919) + "\n";
  }

  @ParameterizedTest
  @EnumSource(PoolMode.class)
  void copyInThenCopyOutOfAHundredThousandRows(PoolMode mode) throws Exception {
    String table = freshTable("bulk", mode);
    CRC32 sent = new CRC32();
    long sentBytes;
    try (Connection c = sluice(mode).connect()) {
      CopyManager copy = c.unwrap(PGConnection.class).getCopyAPI();
      GeneratedRows rows = new GeneratedRows(ROWS, sent);
      long copied = copy.copyIn("COPY " + table + " (id, label) FROM STDIN", rows);
      sentBytes = rows.bytes;
      assertThat(copied).isEqualTo(ROWS);

      // What the server holds, asked directly.
      try (Connection direct = pg.connectApp();
          Statement st = direct.createStatement();
          ResultSet rs =
              st.executeQuery("SELECT count(*), sum(id), count(DISTINCT id) FROM " + table)) {
        rs.next();
        assertThat(rs.getLong(1)).isEqualTo(ROWS);
        assertThat(rs.getLong(2)).isEqualTo((long) ROWS * (ROWS + 1) / 2);
        assertThat(rs.getLong(3)).isEqualTo(ROWS);
      }

      // The same rows back, byte for byte, over the same client connection.
      CountingWriter out = new CountingWriter();
      long exported =
          copy.copyOut("COPY (SELECT id, label FROM " + table + " ORDER BY id) TO STDOUT", out);
      assertThat(exported).isEqualTo(ROWS);
      assertThat(out.lines).isEqualTo(ROWS);
      assertThat(out.bytes).isEqualTo(sentBytes);
      assertThat(out.crc.getValue()).as("CRC32 of the exported text").isEqualTo(sent.getValue());

      // And the session goes on as usual after both COPYs.
      try (Statement st = c.createStatement();
          ResultSet rs = st.executeQuery("SELECT count(*) FROM " + table)) {
        rs.next();
        assertThat(rs.getLong(1)).isEqualTo(ROWS);
      }
    }
  }

  static Stream<Arguments> badRowCases() {
    List<Arguments> all = new ArrayList<>();
    for (PoolMode mode : PoolMode.values()) {
      // A short COPY, and one that goes on streaming long after the server has given up on it.
      all.add(Arguments.of(mode, 2_000, 1_001));
      all.add(Arguments.of(mode, ROWS, 100));
    }
    return all.stream();
  }

  @ParameterizedTest(name = "{0} pooling, {1} rows, bad row {2}")
  @MethodSource("badRowCases")
  void copyInWithABadRowFailsWithTheServersErrorAndTheConnectionLivesOn(
      PoolMode mode, int rows, int badRow) throws Exception {
    String table = freshTable("bad", mode);
    try (Connection c = sluice(mode).connect()) {
      CopyManager copy = c.unwrap(PGConnection.class).getCopyAPI();
      assertThatThrownBy(
              () ->
                  copy.copyIn(
                      "COPY " + table + " (id, label) FROM STDIN",
                      new GeneratedRows(rows, new CRC32(), badRow)))
          .isInstanceOf(PSQLException.class)
          .satisfies(e -> assertThat(((PSQLException) e).getSQLState()).isEqualTo("22P02"))
          .hasMessageContaining(BAD_ID);

      // The same connection: a query, then a good COPY.
      try (Statement st = c.createStatement();
          ResultSet rs = st.executeQuery("SELECT 41 + 1")) {
        rs.next();
        assertThat(rs.getInt(1)).isEqualTo(42);
      }
      assertThat(copy.copyIn("COPY " + table + " FROM STDIN", new StringReader(line(7))))
          .isEqualTo(1);
    }
    try (Connection direct = pg.connectApp();
        Statement st = direct.createStatement();
        ResultSet rs = st.executeQuery("SELECT count(*), min(id) FROM " + table)) {
      rs.next();
      assertThat(rs.getLong(1)).as("only the good COPY's row").isEqualTo(1);
      assertThat(rs.getInt(2)).isEqualTo(7);
    }
  }

  @ParameterizedTest
  @EnumSource(PoolMode.class)
  void copyInsideATransactionIsUndoneByRollback(PoolMode mode) throws Exception {
    String table = freshTable("tx", mode);
    try (Connection c = sluice(mode).connect()) {
      CopyManager copy = c.unwrap(PGConnection.class).getCopyAPI();
      c.setAutoCommit(false);
      try (Statement st = c.createStatement()) {
        st.execute("INSERT INTO " + table + " VALUES (0, 'before the copy')");
      }
      long copied =
          copy.copyIn("COPY " + table + " FROM STDIN", new GeneratedRows(10_000, new CRC32()));
      assertThat(copied).isEqualTo(10_000);
      try (Statement st = c.createStatement();
          ResultSet rs = st.executeQuery("SELECT count(*) FROM " + table)) {
        rs.next();
        assertThat(rs.getLong(1)).as("visible inside the transaction").isEqualTo(10_001);
      }
      c.rollback();
      c.setAutoCommit(true);
      try (Statement st = c.createStatement();
          ResultSet rs = st.executeQuery("SELECT count(*) FROM " + table)) {
        rs.next();
        assertThat(rs.getLong(1)).as("after ROLLBACK, through Sluice").isZero();
      }
    }
    try (Connection direct = pg.connectApp();
        Statement st = direct.createStatement();
        ResultSet rs = st.executeQuery("SELECT count(*) FROM " + table)) {
      rs.next();
      assertThat(rs.getLong(1)).as("after ROLLBACK, asked directly").isZero();
    }
  }

  /**
   * Streams {@link #line(int)} for 1..n without holding it all in memory and sums a CRC32; line
   * {@code badRow} (if not 0) has an id that is not a number.
   */
  private static final class GeneratedRows extends Reader {
    private final int n;
    private final CRC32 crc;
    private final int badRow;
    private int next = 1;
    private String current = "";
    private int pos;
    long bytes;

    GeneratedRows(int n, CRC32 crc) {
      this(n, crc, 0);
    }

    GeneratedRows(int n, CRC32 crc, int badRow) {
      this.n = n;
      this.crc = crc;
      this.badRow = badRow;
    }

    @Override
    public int read(char[] buf, int off, int len) {
      if (pos == current.length()) {
        if (next > n) {
          return -1;
        }
        current = next == badRow ? BAD_ID + "\tboom\n" : line(next);
        next++;
        pos = 0;
        byte[] b = current.getBytes(StandardCharsets.UTF_8);
        crc.update(b);
        bytes += b.length;
      }
      int k = Math.min(len, current.length() - pos);
      current.getChars(pos, pos + k, buf, off);
      pos += k;
      return k;
    }

    @Override
    public void close() {}
  }

  /** Counts lines and bytes of what COPY OUT writes, with their CRC32. */
  private static final class CountingWriter extends Writer {
    final CRC32 crc = new CRC32();
    long lines;
    long bytes;

    @Override
    public void write(char[] buf, int off, int len) throws IOException {
      byte[] b = new String(buf, off, len).getBytes(StandardCharsets.UTF_8);
      crc.update(b);
      bytes += b.length;
      for (byte x : b) {
        if (x == '\n') {
          lines++;
        }
      }
    }

    @Override
    public void flush() {}

    @Override
    public void close() {}
  }
}
