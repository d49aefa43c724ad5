package dev.sluice.server.invalidation;

import dev.sluice.cache.CacheInvalidation;
import dev.sluice.config.Upstream;
import dev.sluice.error.SafeErrors;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Invalidation by NOTIFY ({@code --cache-invalidation-channel NAME}): one pgjdbc session to the
 * upstream's primary LISTENs on the channel, and each notification becomes an invalidation of the
 * upstream's database.
 *
 * <ul>
 *   <li>Payload: table names as {@link NotifyPayload} reads them → {@code tables(db, names)}; empty
 *       or unreadable → {@code database(db)}. A trigger that sends {@code
 *       quote_ident(TG_TABLE_SCHEMA) || '.' || quote_ident(TG_TABLE_NAME)} covers a table.
 *   <li>PostgreSQL delivers a notification when the sending transaction commits, so an invalidation
 *       never overtakes the write it announces.
 *   <li>Liveness: the session waits for notifications in short slices and runs {@code SELECT 1}
 *       after {@link Settings#heartbeat} of silence, under pgjdbc's socket timeout, so a dead path
 *       is noticed within a heartbeat plus that timeout rather than at TCP's leisure.
 *   <li>Loss: notifications sent while nobody listens are gone. The database is invalidated when
 *       the session is lost and again once LISTEN is back (see {@link SourceRunner}).
 * </ul>
 */
public final class NotifyInvalidation implements InvalidationSource {
  private static final Logger log = LoggerFactory.getLogger(NotifyInvalidation.class);

  /**
   * @param heartbeat silence after which the session is probed
   * @param poll how long one wait for notifications lasts
   * @param minBackoff first wait before reconnecting
   * @param maxBackoff longest wait before reconnecting
   */
  public record Settings(
      Duration heartbeat, Duration poll, Duration minBackoff, Duration maxBackoff) {
    public Settings {
      if (heartbeat.isNegative() || heartbeat.isZero()) {
        throw new IllegalArgumentException("the heartbeat must be positive: " + heartbeat);
      }
      if (poll.toMillis() < 1) {
        throw new IllegalArgumentException("the poll must be >= 1 ms: " + poll);
      }
    }

    public static Settings defaults() {
      return new Settings(
          Duration.ofSeconds(10),
          Duration.ofMillis(500),
          Duration.ofMillis(100),
          Duration.ofSeconds(5));
    }
  }

  private final Upstream upstream;
  private final String channel;
  private final Settings settings;
  private final SourceRunner runner;

  /** With {@link Settings#defaults()}. */
  public NotifyInvalidation(Upstream upstream, String channel, CacheInvalidation sink) {
    this(upstream, channel, sink, Settings.defaults());
  }

  /**
   * @param channel the channel as written in SQL ({@code LISTEN channel}): folded unless quoted
   * @throws IllegalArgumentException when {@code channel} is not one name
   */
  public NotifyInvalidation(
      Upstream upstream, String channel, CacheInvalidation sink, Settings settings) {
    this.upstream = upstream;
    this.channel = NotifyPayload.channel(channel);
    this.settings = settings;
    this.runner =
        new SourceRunner(
            "notify",
            upstream.database(),
            "cache invalidation by NOTIFY on channel "
                + NotifyPayload.quote(this.channel)
                + " of "
                + upstream.database(),
            sink,
            new Backoff(
                settings.minBackoff(),
                settings.maxBackoff(),
                () -> ThreadLocalRandom.current().nextDouble()),
            Listener::new,
            log,
            Clock.systemUTC());
  }

  /** The channel listened to, folded. */
  public String channel() {
    return channel;
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

  /** One LISTEN session. */
  private final class Listener implements SourceRunner.Feed {
    private volatile Connection connection;

    @Override
    public void subscribe() throws SQLException {
      connection = UpstreamJdbc.connect(upstream);
      try (Statement s = connection.createStatement()) {
        s.execute("LISTEN " + NotifyPayload.quote(channel));
      }
    }

    @Override
    public void pump() throws SQLException {
      PGConnection pg = connection.unwrap(PGConnection.class);
      int pollMillis = (int) settings.poll().toMillis();
      long quietSince = System.nanoTime();
      while (!runner.stopping()) {
        PGNotification[] received = pg.getNotifications(pollMillis);
        if (received != null && received.length > 0) {
          quietSince = System.nanoTime();
          for (PGNotification n : received) {
            deliver(n);
          }
        } else if (System.nanoTime() - quietSince > settings.heartbeat().toNanos()) {
          probe();
          quietSince = System.nanoTime();
        }
      }
      throw new SQLException("stopping");
    }

    private void deliver(PGNotification n) {
      if (!channel.equals(n.getName())) {
        return;
      }
      Optional<List<String>> tables = NotifyPayload.tables(n.getParameter());
      if (tables.isPresent()) {
        runner.deliver(tables.get());
      } else {
        if (!n.getParameter().isBlank()) {
          log.debug(
              "NOTIFY payload of {} chars is not a list of tables", n.getParameter().length());
        }
        runner.flush();
      }
    }

    private void probe() throws SQLException {
      try (Statement s = connection.createStatement()) {
        s.execute("SELECT 1");
      }
    }

    @Override
    public void abort() {
      Connection c = connection;
      if (c != null) {
        try {
          c.abort(Runnable::run);
        } catch (SQLException | RuntimeException e) {
          log.debug("aborting the LISTEN session: {}", SafeErrors.describe(e));
        }
      }
    }

    @Override
    public void close() {
      Connection c = connection;
      connection = null;
      if (c != null) {
        try {
          c.close();
        } catch (SQLException | RuntimeException e) {
          log.debug("closing the LISTEN session: {}", SafeErrors.describe(e));
        }
      }
    }
  }
}
