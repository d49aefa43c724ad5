package dev.sluice.server.invalidation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** pgoutput protocol version 1 messages, built byte by byte as the PostgreSQL docs lay them out. */
class PgOutputDecoderTest {
  private static final long COMMIT_PG_MICROS = 1_000_000L; // 2000-01-01T00:00:01Z

  private final List<String> log = new ArrayList<>();
  private final PgOutputDecoder decoder =
      new PgOutputDecoder(
          new PgOutputDecoder.Handler() {
            @Override
            public List<String> names(long oid, String schema, String name) {
              String own = PgOutputDecoder.qualified(schema, name);
              return oid == 3_000_000_000L ? List.of(own, "public.parent") : List.of(own);
            }

            @Override
            public void begin(long commitMicros) {
              log.add("begin@" + commitMicros);
            }

            @Override
            public void commit(List<String> tables, long commitMicros) {
              log.add("commit" + tables + "@" + commitMicros);
            }
          });

  /** Writes big-endian fields as the server sends them. */
  private static final class Message {
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final DataOutputStream out = new DataOutputStream(bytes);

    Message(char type) throws IOException {
      out.writeByte(type);
    }

    Message int8(int v) throws IOException {
      out.writeByte(v);
      return this;
    }

    Message int16(int v) throws IOException {
      out.writeShort(v);
      return this;
    }

    Message int32(long v) throws IOException {
      out.writeInt((int) v);
      return this;
    }

    Message int64(long v) throws IOException {
      out.writeLong(v);
      return this;
    }

    Message string(String s) throws IOException {
      out.write(s.getBytes(StandardCharsets.UTF_8));
      out.writeByte(0);
      return this;
    }

    ByteBuffer buffer() {
      return ByteBuffer.wrap(bytes.toByteArray());
    }
  }

  private static ByteBuffer begin() throws IOException {
    return new Message('B').int64(0x16B3748L).int64(COMMIT_PG_MICROS).int32(731).buffer();
  }

  private static ByteBuffer commit() throws IOException {
    return new Message('C')
        .int8(0)
        .int64(0x16B3748L)
        .int64(0x16B3778L)
        .int64(COMMIT_PG_MICROS)
        .buffer();
  }

  private static ByteBuffer relation(long oid, String schema, String name) throws IOException {
    return new Message('R')
        .int32(oid)
        .string(schema)
        .string(name)
        .int8('d') // replica identity
        .int16(1) // columns
        .int8(1) // part of the key
        .string("id")
        .int32(23) // int4
        .int32(-1) // typmod
        .buffer();
  }

  /** Insert 'I': relation, 'N', TupleData with one text column. */
  private static ByteBuffer insert(long oid) throws IOException {
    return new Message('I').int32(oid).int8('N').int16(1).int8('t').int32(1).int8('7').buffer();
  }

  private static ByteBuffer update(long oid) throws IOException {
    return new Message('U').int32(oid).int8('N').int16(1).int8('n').buffer();
  }

  private static ByteBuffer delete(long oid) throws IOException {
    return new Message('D').int32(oid).int8('K').int16(1).int8('t').int32(1).int8('7').buffer();
  }

  @Test
  void aTransactionReportsEveryTableItChangedAtCommitOnce() throws Exception {
    long unixCommit = PgOutputDecoder.PG_EPOCH_MICROS + COMMIT_PG_MICROS;
    decoder.decode(begin());
    decoder.decode(relation(16384, "public", "orders"));
    decoder.decode(insert(16384));
    decoder.decode(relation(16390, "Sales", "Q1 \"x\""));
    decoder.decode(update(16390));
    decoder.decode(delete(16384));
    assertThat(log).containsExactly("begin@" + unixCommit);
    decoder.decode(commit());
    assertThat(log)
        .containsExactly(
            "begin@" + unixCommit, "commit[public.orders, Sales.Q1 \"x\"]@" + unixCommit);
  }

  @Test
  void relationsAreRememberedAcrossTransactionsAndPartitionsNameTheirParents() throws Exception {
    decoder.decode(begin());
    decoder.decode(relation(3_000_000_000L, "public", "orders_2024"));
    decoder.decode(insert(3_000_000_000L));
    decoder.decode(commit());
    decoder.decode(begin());
    decoder.decode(delete(3_000_000_000L));
    decoder.decode(commit());
    assertThat(log)
        .filteredOn(l -> l.startsWith("commit"))
        .allMatch(l -> l.startsWith("commit[public.orders_2024, public.parent]"));
  }

  @Test
  void truncateNamesEachRelation() throws Exception {
    decoder.decode(begin());
    decoder.decode(relation(1, "public", "a"));
    decoder.decode(relation(2, "public", "b"));
    decoder.decode(new Message('T').int32(2).int8(1).int32(1).int32(2).buffer());
    decoder.decode(commit());
    assertThat(log.get(1)).startsWith("commit[public.a, public.b]");
  }

  @Test
  void aTransactionWithoutPublishedChangesReportsNothingToInvalidate() throws Exception {
    decoder.decode(begin());
    decoder.decode(new Message('O').int64(1).string("origin").buffer());
    decoder.decode(new Message('Y').int32(99999).string("public").string("mood").buffer());
    decoder.decode(commit());
    assertThat(log.get(1)).startsWith("commit[]");
  }

  @Test
  void aChangeToAnUndescribedRelationOrATruncatedMessageIsAProtocolError() throws Exception {
    decoder.decode(begin());
    assertThatThrownBy(() -> decoder.decode(insert(77)))
        .isInstanceOf(SQLException.class)
        .hasMessageContaining("77");
    assertThatThrownBy(() -> decoder.decode(new Message('C').int8(0).int64(1).buffer()))
        .isInstanceOf(SQLException.class)
        .satisfies(e -> assertThat(((SQLException) e).getSQLState()).isEqualTo("08P01"));
    assertThatThrownBy(() -> decoder.decode(new Message('R').int32(5).int8('p').int8('u').buffer()))
        .isInstanceOf(SQLException.class)
        .hasMessageContaining("NUL");
  }
}
