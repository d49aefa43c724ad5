package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.config.HostAndPort;
import dev.sluice.config.ProxyConfig;
import dev.sluice.config.Upstream;
import dev.sluice.testing.FreePorts;
import dev.sluice.testing.PostgresExtension;
import dev.sluice.testing.PostgresServer;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.postgresql.util.PSQLException;

/** Reaching the upstream: host names, several hosts, and a host that does not exist. */
@ExtendWith(PostgresExtension.class)
class UpstreamIT {
  private final PostgresServer pg;

  UpstreamIT(PostgresServer pg) {
    this.pg = pg;
  }

  private SluiceServer start(List<HostAndPort> hosts) {
    Upstream up =
        new Upstream(
            hosts,
            pg.appDatabase(),
            pg.appUser(),
            pg.appPassword(),
            Upstream.SslMode.DISABLE,
            Map.of());
    return SluiceServer.start(
        ProxyConfig.builder(up)
            .listen(new HostAndPort("127.0.0.1", 0))
            .adminListen(new HostAndPort("127.0.0.1", 0))
            .minIdle(0)
            .workerThreads(1)
            .connectTimeout(java.time.Duration.ofSeconds(5))
            .build());
  }

  private Connection connect(SluiceServer s) throws Exception {
    return DriverManager.getConnection(
        "jdbc:postgresql://127.0.0.1:" + s.localAddress().getPort() + "/" + pg.appDatabase(),
        TestSluice.props("user", pg.appUser(), "password", pg.appPassword()));
  }

  @Test
  void aHostNameIsResolvedAndAnUnreachableFirstHostIsSkipped() throws Exception {
    int closedPort = FreePorts.find();
    try (SluiceServer s =
            start(
                List.of(
                    new HostAndPort("127.0.0.1", closedPort),
                    new HostAndPort("localhost", pg.port())));
        Connection c = connect(s);
        ResultSet rs = c.createStatement().executeQuery("SELECT inet_server_port()")) {
      rs.next();
      assertThat(rs.getInt(1)).isEqualTo(pg.port());
    }
  }

  @Test
  void anUnknownHostIsA08001NamingIt() {
    try (SluiceServer s = start(List.of(new HostAndPort("no-such-host.invalid", 5999)))) {
      assertThatThrownBy(() -> connect(s))
          .isInstanceOf(PSQLException.class)
          .satisfies(e -> assertThat(((PSQLException) e).getSQLState()).isEqualTo("08001"))
          .hasMessageContaining("no-such-host.invalid");
    }
  }
}
