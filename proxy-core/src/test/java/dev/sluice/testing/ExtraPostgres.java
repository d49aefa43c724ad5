package dev.sluice.testing;

/**
 * A PostgreSQL of a test's own, beside the shared one: for tests that stop, start, promote or
 * replicate servers (failover across several upstream hosts), which the shared server must never go
 * through. Each is a fresh cluster on a free port with the harness's roles and database; a standby
 * is a base backup of its primary that streams from it. Closing stops it and deletes it.
 */
public final class ExtraPostgres implements AutoCloseable {
  private final LocalCluster cluster;
  private final PostgresServer server;

  private ExtraPostgres(LocalCluster cluster, PostgresServer server) {
    this.cluster = cluster;
    this.server = server;
  }

  /** A new primary with the app role and database, as the shared server has them. */
  public static ExtraPostgres primary() {
    PgBinaries binaries = PgBinaries.forServer();
    LocalCluster cluster = LocalCluster.create(binaries);
    try {
      cluster.initdb(PostgresServer.SUPER_PASSWORD);
      cluster.start();
      ExtraPostgres pg = new ExtraPostgres(cluster, PostgresServer.local(binaries, cluster));
      RoleSetup.apply(pg.server);
      return pg;
    } catch (RuntimeException e) {
      discard(cluster, e);
      throw e;
    }
  }

  /** A hot standby of {@code primary}, streaming from it; read-only until promoted. */
  public static ExtraPostgres standbyOf(ExtraPostgres primary) {
    PgBinaries binaries = PgBinaries.forServer();
    LocalCluster cluster = LocalCluster.create(binaries);
    try {
      cluster.basebackupFrom(primary.cluster);
      cluster.start();
      return new ExtraPostgres(cluster, PostgresServer.local(binaries, cluster));
    } catch (RuntimeException e) {
      discard(cluster, e);
      throw e;
    }
  }

  private static void discard(LocalCluster cluster, RuntimeException cause) {
    try {
      cluster.stop();
    } catch (RuntimeException e) {
      cause.addSuppressed(e);
    } finally {
      cluster.deleteFiles();
    }
  }

  /** Connection details and helpers, as for the shared server. */
  public PostgresServer server() {
    return server;
  }

  public int port() {
    return cluster.port();
  }

  /** A fast shutdown: sessions end with 57P01, new connections are refused. */
  public void stop() {
    cluster.stop();
  }

  /** Starts again on the same port. */
  public void start() {
    cluster.startAgain();
  }

  /**
   * {@code pg_ctl restart -m fast} on the same port: sessions end with 57P01, new connections are
   * refused meanwhile; returns once the server accepts connections again.
   */
  public void restart() {
    cluster.restart();
  }

  /** A standby becomes a primary. */
  public void promote() {
    cluster.promote();
  }

  @Override
  public void close() {
    try {
      cluster.stop();
    } finally {
      cluster.deleteFiles();
    }
  }

  @Override
  public String toString() {
    return "ExtraPostgres[" + cluster + "]";
  }
}
