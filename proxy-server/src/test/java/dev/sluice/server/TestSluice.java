package dev.sluice.server;

import dev.sluice.config.HostAndPort;
import dev.sluice.config.PoolMode;
import dev.sluice.config.ProxyConfig;
import dev.sluice.config.ProxyConfigBuilder;
import dev.sluice.config.TlsMode;
import dev.sluice.config.Upstream;
import dev.sluice.testing.PostgresServer;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.function.UnaryOperator;

/** A Sluice started in-process in front of the test PostgreSQL, on a free port. */
final class TestSluice implements AutoCloseable {
  final PostgresServer pg;
  final SluiceServer server;
  final ProxyConfig config;

  private TestSluice(PostgresServer pg, ProxyConfig config) {
    this.pg = pg;
    this.config = config;
    this.server = SluiceServer.start(config);
  }

  static TestSluice start(PostgresServer pg, UnaryOperator<ProxyConfigBuilder> tweak) {
    return start(pg, new HostAndPort(pg.host(), pg.port()), tweak);
  }

  /**
   * A Sluice whose upstream is {@code upstream} (a fault relay in front of {@code pg}, say) with
   * {@code pg}'s database and credentials.
   */
  static TestSluice start(
      PostgresServer pg, HostAndPort upstream, UnaryOperator<ProxyConfigBuilder> tweak) {
    Upstream up =
        new Upstream(
            List.of(upstream),
            pg.appDatabase(),
            pg.appUser(),
            pg.appPassword(),
            Upstream.SslMode.DISABLE,
            Map.of());
    ProxyConfigBuilder b =
        ProxyConfig.builder(up)
            .listen(new HostAndPort("127.0.0.1", 0))
            .adminListen(new HostAndPort("127.0.0.1", 0))
            .minIdle(1)
            .poolSize(10)
            .workerThreads(2)
            // Plain text unless a test asks for TLS (with a certificate, pgjdbc's default
            // sslmode=prefer would pay a TLS handshake on every connection). TLS has tests of
            // its own.
            .tlsMode(TlsMode.DISABLE);
    return new TestSluice(pg, tweak.apply(b).build());
  }

  static TestSluice start(PostgresServer pg, PoolMode mode) {
    return start(pg, b -> b.poolMode(mode));
  }

  int port() {
    return server.localAddress().getPort();
  }

  String jdbcUrl(String database) {
    return "jdbc:postgresql://127.0.0.1:" + port() + "/" + database;
  }

  String jdbcUrl() {
    return jdbcUrl(pg.appDatabase());
  }

  Connection connect() throws SQLException {
    return connect(new Properties());
  }

  /**
   * A JDBC connection through Sluice as the app user; {@code props} adds driver settings. In
   * transaction mode pgjdbc defaults to {@code prepareThreshold=0} here: pgjdbc prepares even its
   * BEGIN as a named statement, and a named statement pins a transaction-mode client to its backend
   * until statements are mapped across backends. Tests of that pinning set it themselves.
   */
  Connection connect(Properties props) throws SQLException {
    Properties p = new Properties();
    p.setProperty("user", pg.appUser());
    p.setProperty("password", pg.appPassword());
    p.setProperty("connectTimeout", "10");
    p.putAll(props);
    return DriverManager.getConnection(jdbcUrl(), p);
  }

  static Properties props(String... kv) {
    Properties p = new Properties();
    for (int i = 0; i < kv.length; i += 2) {
      p.setProperty(kv[i], kv[i + 1]);
    }
    return p;
  }

  /** libpq environment for psql/pgbench through Sluice. */
  Map<String, String> libpqEnv() {
    return Map.of(
        "PGHOST", "127.0.0.1",
        "PGPORT", Integer.toString(port()),
        "PGUSER", pg.appUser(),
        "PGPASSWORD", pg.appPassword(),
        "PGDATABASE", pg.appDatabase(),
        "PGSSLMODE", "disable");
  }

  @Override
  public void close() {
    server.close();
  }
}
