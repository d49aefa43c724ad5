package dev.sluice.server.invalidation;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads the messages of PostgreSQL's {@code pgoutput} plugin, protocol version 1 ("Logical
 * Replication Message Formats" in the PostgreSQL docs), for the one fact invalidation needs: which
 * tables each transaction changed. Row data is never decoded.
 *
 * <pre>
 * Begin 'B'     final LSN, commit timestamp, xid          → a new set of tables
 * Relation 'R'  relation OID, namespace, name, ...        → remembered by OID (sent before first use
 *                                                           and again after the table changes)
 * Insert 'I', Update 'U', Delete 'D'   relation OID, ... → its names join the set
 * Truncate 'T'  count, options, relation OIDs             → their names join the set
 * Commit 'C'    flags, commit LSN, end LSN, timestamp     → the set is reported
 * Origin 'O', Type 'Y', Message 'M'                       → nothing to do
 * </pre>
 *
 * <p>Without {@code streaming} (proto_version 1) a transaction arrives whole, after it committed,
 * so nothing is reported for a transaction that rolled back. A change to a relation never described
 * is a protocol error: the caller treats it as a lost stream rather than guess. Not thread-safe.
 */
final class PgOutputDecoder {
  /** Microseconds from 1970-01-01 to PostgreSQL's epoch, 2000-01-01. */
  static final long PG_EPOCH_MICROS = 946_684_800_000_000L;

  private static final byte BEGIN = 'B';
  private static final byte COMMIT = 'C';
  private static final byte RELATION = 'R';
  private static final byte INSERT = 'I';
  private static final byte UPDATE = 'U';
  private static final byte DELETE = 'D';
  private static final byte TRUNCATE = 'T';

  /** What the decoder reports, on the reading thread. */
  interface Handler {
    /**
     * The names to report for a relation: its own {@code schema.name}, and those of the tables it
     * inherits from or is a partition of (a query on the parent reads the child's rows).
     */
    List<String> names(long relationOid, String schema, String name) throws SQLException;

    /** A transaction's changes follow; it committed at {@code commitMicros} (Unix epoch). */
    void begin(long commitMicros);

    /** The transaction committed; {@code tables} may be empty (only unpublished changes). */
    void commit(List<String> tables, long commitMicros);
  }

  private final Handler handler;
  private final Map<Long, List<String>> relations = new HashMap<>();
  private final Set<String> transaction = new LinkedHashSet<>();

  PgOutputDecoder(Handler handler) {
    this.handler = handler;
  }

  /**
   * Reads one message, the payload of one XLogData.
   *
   * @throws SQLException from {@link Handler#names}, or 08P01 when the message is malformed or
   *     names a relation never described
   */
  void decode(ByteBuffer message) throws SQLException {
    try {
      byte type = message.get();
      switch (type) {
        case BEGIN -> begin(message);
        case RELATION -> relation(message);
        case INSERT, UPDATE, DELETE -> changed(message.getInt());
        case TRUNCATE -> truncate(message);
        case COMMIT -> commit(message);
        default -> {
          // Origin, Type, and kinds this protocol version does not send: nothing to invalidate.
        }
      }
    } catch (BufferUnderflowException e) {
      throw new SQLException("pgoutput message shorter than its fields", "08P01", e);
    }
  }

  private void begin(ByteBuffer m) {
    m.getLong(); // final LSN
    transaction.clear();
    handler.begin(m.getLong() + PG_EPOCH_MICROS);
  }

  private void relation(ByteBuffer m) throws SQLException {
    long oid = Integer.toUnsignedLong(m.getInt());
    String schema = string(m);
    String name = string(m);
    relations.put(oid, List.copyOf(handler.names(oid, schema, name)));
  }

  private void truncate(ByteBuffer m) throws SQLException {
    int count = m.getInt();
    m.get(); // options: CASCADE, RESTART IDENTITY
    for (int i = 0; i < count; i++) {
      changed(m.getInt());
    }
  }

  private void changed(int relationOid) throws SQLException {
    List<String> names = relations.get(Integer.toUnsignedLong(relationOid));
    if (names == null) {
      throw new SQLException(
          "pgoutput changed relation "
              + Integer.toUnsignedLong(relationOid)
              + " before describing it",
          "08P01");
    }
    transaction.addAll(names);
  }

  private void commit(ByteBuffer m) {
    m.get(); // flags
    m.getLong(); // commit LSN
    m.getLong(); // end LSN
    long commitMicros = m.getLong() + PG_EPOCH_MICROS;
    List<String> tables = List.copyOf(transaction);
    transaction.clear();
    handler.commit(tables, commitMicros);
  }

  /** A NUL-terminated string (the server sends the client encoding, UTF-8 for pgjdbc). */
  private static String string(ByteBuffer m) throws SQLException {
    int start = m.position();
    for (int i = start; i < m.limit(); i++) {
      if (m.get(i) == 0) {
        byte[] bytes = new byte[i - start];
        m.get(bytes);
        m.get(); // the NUL
        return new String(bytes, StandardCharsets.UTF_8);
      }
    }
    throw new SQLException("pgoutput string without its terminating NUL", "08P01");
  }

  /** {@code schema.name}, or {@code name} alone for pg_catalog, which pgoutput sends as "". */
  static String qualified(String schema, String name) {
    return schema.isEmpty() ? name : schema + "." + name;
  }
}
