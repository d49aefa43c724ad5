package dev.sluice.server;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.stream.Collectors;

/**
 * A soak's load: JDBC clients through Sluice, each on a connection of its own and a thread of its
 * own, running a mix until stopped: autocommit reads of a table that is written all the time,
 * repeated reads of a table never written (the result cache answers those), short write
 * transactions, and a few statements that sleep 20 ms (so that there is always a backend busy to
 * kill). A client whose connection breaks opens a new one, as an application would.
 *
 * <p>Everything is counted by <em>slot</em>, the fault the soak is in when it happens: operations,
 * errors by SQLSTATE, which clients saw one. After a fault heals ({@link #healedAt}) each client
 * notes its first success, which is its recovery.
 */
final class SoakClients {
  static final int ITEMS = 16;
  static final int COUNTERS = 64;

  /** A client's pause after an error before it tries again. */
  private static final long RETRY_PAUSE_MILLIS = 50;

  private static final int SAMPLES_PER_SLOT = 3;

  /** Where clients connect: Sluice, or PgBouncer in a comparison. */
  interface Endpoint {
    Connection open() throws SQLException;
  }

  private final Endpoint endpoint;
  private final List<Thread> threads = new ArrayList<>();
  private final List<AtomicLong> firstSuccessAfterHeal = new ArrayList<>();
  private final Map<Integer, Tally> tallies = new ConcurrentHashMap<>();
  private final AtomicBoolean stop = new AtomicBoolean();
  private final LongAdder wrongAnswers = new LongAdder();
  private volatile int slot = -1;
  private volatile long healedAt = System.nanoTime();

  private SoakClients(Endpoint endpoint) {
    this.endpoint = endpoint;
  }

  /** The tables the mix reads and writes; made before Sluice starts, so its cache knows them. */
  static void createTables(Connection c) throws SQLException {
    try (Statement st = c.createStatement()) {
      // A SIGKILL's crash restart must not lose them (the test servers commit asynchronously).
      st.execute("SET synchronous_commit = on");
      st.execute("CREATE TABLE soak_items (id int PRIMARY KEY, name text NOT NULL)");
      st.execute(
          "INSERT INTO soak_items SELECT g, 'item-' || g FROM generate_series(1, " + ITEMS + ") g");
      st.execute("CREATE TABLE soak_counters (id int PRIMARY KEY, n bigint NOT NULL DEFAULT 0)");
      st.execute(
          "INSERT INTO soak_counters (id) SELECT g FROM generate_series(1, " + COUNTERS + ") g");
    }
  }

  /** {@code count} clients, each started on its own thread, counting in slot -1 until told. */
  static SoakClients start(TestSluice sluice, int count) {
    return start(() -> sluice.connect(TestSluice.props("socketTimeout", "30")), count);
  }

  /** The same, connecting to {@code endpoint}. */
  static SoakClients start(Endpoint endpoint, int count) {
    SoakClients clients = new SoakClients(endpoint);
    for (int i = 0; i < count; i++) {
      AtomicLong firstSuccess = new AtomicLong(-1);
      clients.firstSuccessAfterHeal.add(firstSuccess);
      int id = i;
      Thread t = new Thread(() -> clients.run(id, firstSuccess), "soak-client-" + i);
      clients.threads.add(t);
      t.start();
    }
    return clients;
  }

  int size() {
    return threads.size();
  }

  /** From now on, what happens is counted in {@code next}. */
  void enterSlot(int next) {
    slot = next;
  }

  Tally tally(int of) {
    return tallies.computeIfAbsent(of, k -> new Tally());
  }

  long wrongAnswers() {
    return wrongAnswers.sum();
  }

  /** A fault healed at {@code nanos}: each client's next success is its recovery. */
  void healedAt(long nanos) {
    healedAt = nanos;
    firstSuccessAfterHeal.forEach(first -> first.set(-1));
  }

  /**
   * Waits until every client has succeeded since the heal, or until {@code deadline}; returns each
   * one's nanoseconds from the heal to its first success, -1 for those that had none by then.
   */
  long[] awaitRecovery(long deadline) throws InterruptedException {
    long heal = healedAt;
    while (firstSuccessAfterHeal.stream().anyMatch(first -> first.get() < 0)
        && System.nanoTime() - deadline < 0) {
      Thread.sleep(5);
    }
    return firstSuccessAfterHeal.stream()
        .mapToLong(AtomicLong::get)
        .map(first -> first < 0 ? -1 : Math.max(0, first - heal))
        .toArray();
  }

  /** Stops every client after its current operation and closes its connection. */
  void stop() throws InterruptedException {
    stop.set(true);
    for (Thread t : threads) {
      t.join(TimeUnit.SECONDS.toMillis(60));
      if (t.isAlive()) {
        throw new IllegalStateException(t.getName() + " did not stop within 60 s");
      }
    }
  }

  private void run(int id, AtomicLong firstSuccess) {
    Random random = new Random(id);
    Session session = null;
    while (!stop.get()) {
      int in = slot;
      try {
        if (session == null) {
          session = Session.open(endpoint);
        }
        session.step(random);
        long done = System.nanoTime();
        if (done - healedAt >= 0) {
          firstSuccess.compareAndSet(-1, done);
        }
        tally(in).ops.increment();
      } catch (SQLException | WrongAnswer e) {
        tally(in).failed(id, e);
        if (e instanceof WrongAnswer) {
          wrongAnswers.increment();
        }
        if (session != null && !session.recover(e)) {
          session = null;
        }
        pause();
      }
    }
    if (session != null) {
      session.close();
    }
  }

  private static void pause() {
    try {
      Thread.sleep(RETRY_PAUSE_MILLIS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** One client's connection and its statements (pgjdbc prepares them on the server by the 5th). */
  private static final class Session {
    private final Connection c;
    private final PreparedStatement item;
    private final PreparedStatement counters;
    private final PreparedStatement increment;
    private final PreparedStatement counter;
    private final PreparedStatement sleep;

    static Session open(Endpoint endpoint) throws SQLException {
      Connection c = endpoint.open();
      try {
        return new Session(c);
      } catch (SQLException e) {
        c.close();
        throw e;
      }
    }

    private Session(Connection c) throws SQLException {
      this.c = c;
      item = c.prepareStatement("SELECT name FROM soak_items WHERE id = ?");
      counters = c.prepareStatement("SELECT count(*), sum(n) FROM soak_counters WHERE id <= ?");
      increment = c.prepareStatement("UPDATE soak_counters SET n = n + 1 WHERE id = ?");
      counter = c.prepareStatement("SELECT n FROM soak_counters WHERE id = ?");
      sleep = c.prepareStatement("SELECT pg_sleep(0.02), ?::int");
    }

    void step(Random random) throws SQLException, WrongAnswer {
      int dice = random.nextInt(100);
      if (dice < 35) {
        int id = 1 + random.nextInt(ITEMS);
        expect(text(item, id), "item-" + id, "a cached item");
      } else if (dice < 70) {
        int upTo = 1 + random.nextInt(COUNTERS);
        expect(number(counters, upTo), (long) upTo, "a count of counters");
      } else if (dice < 95) {
        incrementCounter(1 + random.nextInt(COUNTERS));
      } else {
        int n = random.nextInt(1000);
        sleep.setInt(1, n);
        try (ResultSet rs = sleep.executeQuery()) {
          rs.next();
          expect(rs.getLong(2), (long) n, "a sleeper's number");
        }
      }
    }

    /** A short write transaction: an increment and a read of it. */
    private void incrementCounter(int id) throws SQLException, WrongAnswer {
      c.setAutoCommit(false);
      increment.setInt(1, id);
      expect(increment.executeUpdate(), 1, "rows updated");
      if (number(counter, id) < 1) {
        throw new WrongAnswer("counter " + id + " not incremented in its own transaction");
      }
      c.commit();
      c.setAutoCommit(true);
    }

    private static String text(PreparedStatement st, int arg) throws SQLException {
      st.setInt(1, arg);
      try (ResultSet rs = st.executeQuery()) {
        return rs.next() ? rs.getString(1) : null;
      }
    }

    private static long number(PreparedStatement st, int arg) throws SQLException {
      st.setInt(1, arg);
      try (ResultSet rs = st.executeQuery()) {
        return rs.next() ? rs.getLong(1) : -1;
      }
    }

    private static void expect(Object actual, Object expected, String what) throws WrongAnswer {
      if (!expected.equals(actual)) {
        throw new WrongAnswer(what + ": expected " + expected + ", got " + actual);
      }
    }

    /** After an error: true when the connection is still usable (out of any transaction). */
    boolean recover(Exception e) {
      String state = e instanceof SQLException sql ? sql.getSQLState() : null;
      boolean lost = state != null && (state.startsWith("08") || state.startsWith("57P"));
      try {
        if (!lost && !c.isClosed()) {
          if (!c.getAutoCommit()) {
            c.rollback();
            c.setAutoCommit(true);
          }
          return true;
        }
      } catch (SQLException next) {
        // the connection is broken after all
      }
      close();
      return false;
    }

    void close() {
      try {
        c.close();
      } catch (SQLException e) {
        // closing a broken connection
      }
    }
  }

  /** A wrong answer through Sluice: never expected, whatever the fault. */
  static final class WrongAnswer extends Exception {
    WrongAnswer(String message) {
      super(message);
    }
  }

  /** What happened in one slot. */
  static final class Tally {
    final LongAdder ops = new LongAdder();
    private final Map<String, LongAdder> errors = new ConcurrentSkipListMap<>();
    private final Set<Integer> clientsWithErrors = ConcurrentHashMap.newKeySet();
    private final Queue<String> samples = new ConcurrentLinkedQueue<>();

    void failed(int client, Exception e) {
      String kind =
          e instanceof SQLException sql
              ? String.valueOf(sql.getSQLState())
              : e.getClass().getSimpleName();
      errors.computeIfAbsent(kind, k -> new LongAdder()).increment();
      clientsWithErrors.add(client);
      if (samples.size() < SAMPLES_PER_SLOT) {
        samples.add(kind + " " + e.getMessage());
      }
    }

    long errors() {
      return errors.values().stream().mapToLong(LongAdder::sum).sum();
    }

    int clientsWithErrors() {
      return clientsWithErrors.size();
    }

    /** {@code 08006 x3, 57P01 x1}, or {@code none}. */
    String errorsByState() {
      return errors.isEmpty()
          ? "none"
          : errors.entrySet().stream()
              .map(e -> e.getKey() + " x" + e.getValue().sum())
              .collect(Collectors.joining(", "));
    }

    List<String> samples() {
      return List.copyOf(samples);
    }
  }
}
