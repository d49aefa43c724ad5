package dev.sluice.server.invalidation;

import dev.sluice.cache.CacheInvalidation;
import dev.sluice.config.Upstream;
import dev.sluice.error.SafeErrors;
import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.postgresql.PGConnection;
import org.postgresql.replication.LogSequenceNumber;
import org.postgresql.replication.PGReplicationStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Invalidation from the WAL ({@code --cache-invalidation wal}): logical decoding of the upstream
 * database through pgjdbc's replication API, plugin {@code pgoutput} (built into PostgreSQL, so
 * nothing to install), protocol version 1, one publication ({@value #DEFAULT_PUBLICATION} by
 * default, created FOR ALL TABLES when missing: see {@link WalSetup} for what that costs). Every
 * committed transaction becomes one {@code tables(db, ...)} call naming the tables it changed
 * (INSERT, UPDATE, DELETE, TRUNCATE), plus the parents of any partition or inheritance child.
 *
 * <p><b>A temporary slot.</b> Each subscription creates a temporary logical slot with a fresh name
 * ({@code sluice_cache_<random>}); PostgreSQL drops it when the session ends, however it ends. A
 * permanent slot would let a reconnect resume where it stopped instead of flushing the database,
 * but a Sluice that dies, is scaled down or is renamed would leave it behind, and an abandoned slot
 * pins WAL until the server's disk fills: an outage of the database to spare a cache a refill. A
 * cache can always recover by flushing; so the slot is temporary, the database is flushed on every
 * loss and resubscription, and a fresh name keeps a reconnect from colliding with the slot of a
 * session the server has not noticed is dead yet.
 *
 * <p><b>Holding no WAL.</b> After every message the received position is confirmed as applied and
 * flushed, and pgjdbc sends it at each status interval and answers the server's keepalives with it
 * (advancing it over WAL of other databases). Confirming past a transaction is safe here: the slot
 * is never resumed, so the position only tells the server what it may recycle.
 *
 * <p><b>Falling behind.</b> pgoutput sends a transaction after it commits; if decoding lags (a huge
 * transaction, a slow network), the cache serves results older than writes already committed. Each
 * Begin and Commit carries the commit time; its distance from the server's clock (this machine's
 * clock corrected by the offset measured at subscription) is the lag. Over {@link
 * Settings#lagLimit} the database is flushed (again at most once per limit while it lasts), which
 * is logged once per episode. A transaction still being decoded shows no lag until it arrives.
 *
 * <p><b>Reading.</b> A blocking {@link PGReplicationStream#read()} on the source's own thread: a
 * message is handled as soon as it arrives, with no polling delay or idle CPU. pgjdbc wakes inside
 * read() at each status interval to send feedback; {@link #close()} aborts the sockets to end it.
 */
public final class WalInvalidation implements InvalidationSource {
  public static final String DEFAULT_PUBLICATION = "sluice_cache";
  static final String SLOT_PREFIX = "sluice_cache_";

  private static final Logger log = LoggerFactory.getLogger(WalInvalidation.class);
  private static final Pattern PLAIN_NAME = Pattern.compile("[a-z_][a-z0-9_]{0,62}");
  private static final String INSUFFICIENT_PRIVILEGE = "42501";
  private static final String AUTHORIZATION_CLASS = "28";

  /** Tables a relation inherits from or is a partition of, transitively. */
  private static final String ANCESTORS =
      "WITH RECURSIVE up(relid) AS ("
          + " SELECT inhparent FROM pg_inherits WHERE inhrelid = ?::oid"
          + " UNION SELECT i.inhparent FROM pg_inherits i JOIN up ON i.inhrelid = up.relid)"
          + " SELECT n.nspname, c.relname FROM up"
          + " JOIN pg_class c ON c.oid = up.relid JOIN pg_namespace n ON n.oid = c.relnamespace";

  /**
   * @param publication a plain lower-case name (letters, digits, underscores), since it travels
   *     unquoted in the START_REPLICATION options
   * @param lagLimit lag past which the database is flushed
   * @param statusInterval how often progress is confirmed to the server
   * @param minBackoff first wait before reconnecting
   * @param maxBackoff longest wait before reconnecting
   */
  public record Settings(
      String publication,
      Duration lagLimit,
      Duration statusInterval,
      Duration minBackoff,
      Duration maxBackoff) {
    public Settings {
      if (publication == null || !PLAIN_NAME.matcher(publication).matches()) {
        throw new IllegalArgumentException(
            "a publication name is lower-case letters, digits and underscores: " + publication);
      }
      if (lagLimit.isNegative() || lagLimit.isZero()) {
        throw new IllegalArgumentException("the lag limit must be positive: " + lagLimit);
      }
      if (statusInterval.toMillis() < 1) {
        throw new IllegalArgumentException(
            "the status interval must be >= 1 ms: " + statusInterval);
      }
    }

    public static Settings defaults() {
      return new Settings(
          DEFAULT_PUBLICATION,
          Duration.ofSeconds(5),
          Duration.ofSeconds(1),
          Duration.ofMillis(100),
          Duration.ofSeconds(5));
    }

    public Settings withPublication(String name) {
      return new Settings(name, lagLimit, statusInterval, minBackoff, maxBackoff);
    }

    public Settings withLagLimit(Duration limit) {
      return new Settings(publication, limit, statusInterval, minBackoff, maxBackoff);
    }
  }

  private final Upstream upstream;
  private final Settings settings;
  private final Clock clock;
  private final SourceRunner runner;
  private final SecureRandom random = new SecureRandom();

  // Reading thread only.
  private final LagWatch lag;
  private boolean warnedAboutPublication;

  /** With {@link Settings#defaults()}. */
  public WalInvalidation(Upstream upstream, CacheInvalidation sink) {
    this(upstream, sink, Settings.defaults());
  }

  public WalInvalidation(Upstream upstream, CacheInvalidation sink, Settings settings) {
    this(upstream, sink, settings, Clock.systemUTC());
  }

  WalInvalidation(Upstream upstream, CacheInvalidation sink, Settings settings, Clock clock) {
    this.upstream = upstream;
    this.settings = settings;
    this.clock = clock;
    this.runner =
        new SourceRunner(
            "wal",
            upstream.database(),
            "cache invalidation from the WAL of "
                + upstream.database()
                + " (publication "
                + settings.publication()
                + ")",
            sink,
            new Backoff(
                settings.minBackoff(),
                settings.maxBackoff(),
                () -> ThreadLocalRandom.current().nextDouble()),
            Subscription::new,
            log,
            clock);
    this.lag = new LagWatch(settings.lagLimit(), runner::flush, log, upstream.database());
  }

  @Override
  public void start() {
    runner.start();
  }

  @Override
  public InvalidationStatus status() {
    return runner.status();
  }

  @Override
  public void close() {
    runner.close();
  }

  /** One replication session and the plain session beside it. */
  private final class Subscription implements SourceRunner.Feed, PgOutputDecoder.Handler {
    private volatile Connection sql;
    private volatile Connection replication;
    private PGReplicationStream stream;
    private PreparedStatement ancestors;
    private long skewMicros;
    private final PgOutputDecoder decoder = new PgOutputDecoder(this);

    @Override
    public void subscribe() throws SQLException, SourceUnavailableException {
      sql = UpstreamJdbc.connect(upstream);
      String warning = WalSetup.prepare(sql, settings.publication());
      if (warning != null && !warnedAboutPublication) {
        warnedAboutPublication = true;
        log.warn("WAL invalidation: {}", warning);
      }
      skewMicros = WalSetup.clockSkewMicros(sql, clock);
      lag.reset();
      runner.lag(null);
      ancestors = sql.prepareStatement(ANCESTORS);
      replication = connectReplication();
      PGConnection pg = replication.unwrap(PGConnection.class);
      String slot = SLOT_PREFIX + HexFormat.of().formatHex(nextSlotBytes());
      pg.getReplicationAPI()
          .createReplicationSlot()
          .logical()
          .withSlotName(slot)
          .withOutputPlugin("pgoutput")
          .withTemporaryOption()
          .make();
      runner.slot(slot);
      stream =
          pg.getReplicationAPI()
              .replicationStream()
              .logical()
              .withSlotName(slot)
              .withSlotOption("proto_version", 1)
              .withSlotOption("publication_names", settings.publication())
              .withStatusInterval((int) settings.statusInterval().toMillis(), TimeUnit.MILLISECONDS)
              .start();
    }

    private byte[] nextSlotBytes() {
      byte[] bytes = new byte[6];
      random.nextBytes(bytes);
      return bytes;
    }

    private Connection connectReplication() throws SQLException, SourceUnavailableException {
      try {
        return UpstreamJdbc.connectReplication(upstream);
      } catch (SQLException e) {
        String state = e.getSQLState() == null ? "" : e.getSQLState();
        if (state.equals(INSUFFICIENT_PRIVILEGE) || state.startsWith(AUTHORIZATION_CLASS)) {
          throw new SourceUnavailableException(
              "the server refused a replication connection to user "
                  + upstream.user()
                  + " ("
                  + state
                  + "): it needs the REPLICATION attribute (ALTER ROLE "
                  + upstream.user()
                  + " REPLICATION) and a pg_hba.conf line for database \"replication\"");
        }
        throw e;
      }
    }

    @Override
    public void pump() throws SQLException {
      while (!runner.stopping()) {
        ByteBuffer message = stream.read();
        if (message == null) {
          throw new SQLException("the server ended the replication stream", "08006");
        }
        decoder.decode(message);
        LogSequenceNumber received = stream.getLastReceiveLSN();
        stream.setAppliedLSN(received);
        stream.setFlushedLSN(received);
      }
      throw new SQLException("stopping");
    }

    @Override
    public List<String> names(long relationOid, String schema, String name) throws SQLException {
      List<String> names = new ArrayList<>();
      names.add(PgOutputDecoder.qualified(schema, name));
      ancestors.setLong(1, relationOid);
      try (ResultSet rows = ancestors.executeQuery()) {
        while (rows.next()) {
          names.add(PgOutputDecoder.qualified(rows.getString(1), rows.getString(2)));
        }
      }
      return names;
    }

    @Override
    public void begin(long commitMicros) {
      measureLag(commitMicros);
    }

    @Override
    public void commit(List<String> tables, long commitMicros) {
      if (!tables.isEmpty()) {
        runner.deliver(tables);
      }
      measureLag(commitMicros);
    }

    private void measureLag(long commitMicros) {
      long now = WalSetup.micros(clock.instant()) + skewMicros;
      runner.lag(lag.observe(now, commitMicros));
    }

    @Override
    public void abort() {
      abortQuietly(replication);
      abortQuietly(sql);
    }

    @Override
    public void close() {
      // Ending the session drops the temporary slot; no need to stop the COPY first.
      closeQuietly(replication);
      closeQuietly(sql);
      replication = null;
      sql = null;
    }
  }

  private static void abortQuietly(Connection c) {
    if (c != null) {
      try {
        c.abort(Runnable::run);
      } catch (SQLException | RuntimeException e) {
        log.debug("aborting a WAL invalidation session: {}", SafeErrors.describe(e));
      }
    }
  }

  private static void closeQuietly(Connection c) {
    if (c != null) {
      try {
        c.close();
      } catch (SQLException | RuntimeException e) {
        log.debug("closing a WAL invalidation session: {}", SafeErrors.describe(e));
      }
    }
  }
}
