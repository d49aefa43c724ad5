package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.config.PoolMode;
import dev.sluice.protocol.frontend.Query;
import dev.sluice.testing.PostgresExtension;
import dev.sluice.testing.PostgresServer;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.postgresql.util.PSQLException;

/** Limits refuse the one offending client with a clear error; nobody else notices. */
@ExtendWith(PostgresExtension.class)
class LimitsIT {
  private final PostgresServer pg;

  LimitsIT(PostgresServer pg) {
    this.pg = pg;
  }

  @Test
  void oversizedMessageIsRefusedWith08P01WhileOtherClientsKeepWorking() throws SQLException {
    try (TestSluice s = TestSluice.start(pg, b -> b.maxMessageSize(64 * 1024));
        Connection bystander = s.connect();
        Connection offender = s.connect()) {
      bystander.setAutoCommit(false);
      Statement bs = bystander.createStatement();
      bs.execute("CREATE TEMP TABLE IF NOT EXISTS lim (v int)");
      bs.execute("INSERT INTO lim VALUES (1)");

      PreparedStatement big = offender.prepareStatement("SELECT length(?)");
      big.setString(1, "x".repeat(200 * 1024));
      assertThatThrownBy(big::executeQuery)
          .isInstanceOf(PSQLException.class)
          .satisfies(e -> assertThat(((PSQLException) e).getSQLState()).isIn("08P01", "08006"));
      assertThat(offender.isValid(2)).isFalse();

      // the bystander's open transaction is intact and it goes on working
      bs.execute("INSERT INTO lim VALUES (2)");
      ResultSet rs = bs.executeQuery("SELECT sum(v) FROM lim");
      rs.next();
      assertThat(rs.getInt(1)).isEqualTo(3);
      bystander.commit();
      // and a message under the limit is fine for a new client
      try (Connection again = s.connect()) {
        PreparedStatement ok = again.prepareStatement("SELECT length(?)");
        ok.setString(1, "y".repeat(32 * 1024));
        ResultSet r2 = ok.executeQuery();
        r2.next();
        assertThat(r2.getInt(1)).isEqualTo(32 * 1024);
      }
    }
  }

  /**
   * Six clients each send a 3 MB query while --max-message-memory is 4 MB: their incomplete
   * messages cannot all be held at once, so those that do not fit are not read until they do, and
   * every one of them is answered.
   */
  @Test
  void largeMessagesBeyondTheSharedBudgetWaitTheirTurnAndAllFinish() throws Exception {
    int clients = 6;
    int payload = 3 << 20;
    try (TestSluice s =
        TestSluice.start(pg, b -> b.maxMessageSize(8 << 20).maxMessageMemory(4L << 20))) {
      ByteBuf q = Unpooled.buffer();
      new Query("SELECT length('" + "x".repeat(payload) + "')").encode(q);
      byte[] message = new byte[q.readableBytes()];
      q.readBytes(message);
      q.release();
      List<RawClient> open = new ArrayList<>();
      try {
        for (int i = 0; i < clients; i++) {
          RawClient c = RawClient.connect(s, pg);
          open.add(c);
          c.sendRaw(message, 0, 1 << 20);
        }
        // the first message's reservation fits; the others wait, unread
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (s.server.messageMemory().waiting() < clients - 1) {
          assertThat(System.nanoTime()).as("clients waiting for memory").isLessThan(deadline);
          Thread.sleep(5);
        }
        List<Thread> senders = new ArrayList<>();
        List<String> answers = java.util.Collections.synchronizedList(new ArrayList<>());
        for (RawClient c : open) {
          Thread t =
              new Thread(
                  () -> {
                    try {
                      c.sendRaw(message, 1 << 20, message.length - (1 << 20));
                      answers.add(String.join(",", c.readUntilReady()));
                    } catch (java.io.IOException e) {
                      answers.add(e.toString());
                    }
                  });
          senders.add(t);
          t.start();
        }
        for (Thread t : senders) {
          t.join(60_000);
          assertThat(t.isAlive()).as("client answered").isFalse();
        }
        assertThat(answers).hasSize(clients).allMatch(a -> a.equals("T,D,C,Z:I"));
        assertThat(s.server.messageMemory().peak()).isLessThanOrEqualTo(4L << 20);
        assertThat(s.server.messageMemory().reserved()).isZero();
      } finally {
        for (RawClient c : open) {
          c.close();
        }
      }
    }
  }

  @Test
  void clientsBeyondMaxClientConnectionsGet53300() throws SQLException {
    try (TestSluice s = TestSluice.start(pg, b -> b.maxClientConnections(3))) {
      List<Connection> open = new ArrayList<>();
      try {
        for (int i = 0; i < 3; i++) {
          open.add(s.connect());
        }
        assertThatThrownBy(s::connect)
            .isInstanceOf(PSQLException.class)
            .satisfies(e -> assertThat(((PSQLException) e).getSQLState()).isEqualTo("53300"))
            .hasMessageContaining("too many clients");
        for (Connection c : open) {
          assertThat(c.createStatement().executeQuery("SELECT 1").next()).isTrue();
        }
        open.remove(0).close();
        // a slot freed is a slot usable (the count drops once the close is seen)
        long deadline = System.nanoTime() + 5_000_000_000L;
        Connection next = null;
        while (next == null) {
          try {
            next = s.connect();
          } catch (PSQLException e) {
            if (System.nanoTime() > deadline) {
              throw e;
            }
          }
        }
        open.add(next);
      } finally {
        for (Connection c : open) {
          c.close();
        }
      }
    }
  }

  @Test
  void acquireTimeoutIsA53300ErrorAndTheSessionStaysUsable() throws Exception {
    try (TestSluice s =
            TestSluice.start(
                pg,
                b ->
                    b.poolMode(PoolMode.TRANSACTION)
                        .poolSize(1)
                        .minIdle(1)
                        .acquireTimeout(java.time.Duration.ofMillis(300)));
        Connection holder = s.connect();
        Connection waiter = s.connect()) {
      holder.setAutoCommit(false);
      holder.createStatement().execute("SELECT 1"); // holds the only backend
      long t0 = System.nanoTime();
      assertThatThrownBy(() -> waiter.createStatement().executeQuery("SELECT 2"))
          .isInstanceOf(PSQLException.class)
          .satisfies(e -> assertThat(((PSQLException) e).getSQLState()).isEqualTo("53300"))
          .hasMessageContaining("total=1 active=1 idle=0");
      assertThat((System.nanoTime() - t0) / 1_000_000).isBetween(250L, 5_000L);
      holder.commit();
      ResultSet rs = waiter.createStatement().executeQuery("SELECT 3");
      rs.next();
      assertThat(rs.getInt(1)).isEqualTo(3);
    }
  }
}
