package dev.sluice.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.HostAndPort;
import dev.sluice.config.ProxyConfig;
import dev.sluice.config.Upstream;
import dev.sluice.server.SluiceServer;
import dev.sluice.testing.PostgresExtension;
import dev.sluice.testing.PostgresServer;
import java.net.ServerSocket;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** {@code sluice status} against a running Sluice's admin port. */
@ExtendWith(PostgresExtension.class)
class StatusCommandIT {

  @Test
  void statusPrintsTheUpstreamAndThePoolsAsATable(PostgresServer pg) throws Exception {
    Upstream up =
        new Upstream(
            List.of(new HostAndPort(pg.host(), pg.port())),
            pg.appDatabase(),
            pg.appUser(),
            pg.appPassword(),
            Upstream.SslMode.DISABLE,
            Map.of());
    ProxyConfig config =
        ProxyConfig.builder(up)
            .listen(new HostAndPort("127.0.0.1", 0))
            .adminListen(new HostAndPort("127.0.0.1", 0))
            .minIdle(2)
            .build();
    try (SluiceServer s = SluiceServer.start(config)) {
      String admin = "http://127.0.0.1:" + s.adminAddress().getPort();
      long deadline = System.nanoTime() + 15_000_000_000L;
      Cli.Result r;
      while ((r = Cli.run(Map.of(), "status", "--admin", admin)).status() != 0) {
        assertThat(r.status()).as(r.err() + r.out()).isEqualTo(StatusCommand.NOT_READY);
        assertThat(System.nanoTime()).as("ready within 15 s").isLessThan(deadline);
        Thread.sleep(50);
      }
      assertThat(r.out())
          .startsWith("status up; upstream " + pg.host() + ":" + pg.port() + ", circuit CLOSED")
          .contains("DATABASE     USER        SIZE  ACTIVE  IDLE  CONNECTING  WAITING")
          .containsPattern("sluice_test  sluice_app  2 +0 +2 +0 +0");
    }
  }

  @Test
  void noAdminPortIsAnErrorOnOneLine() throws Exception {
    int closed;
    try (ServerSocket probe = new ServerSocket(0)) {
      closed = probe.getLocalPort();
    }
    Cli.Result r = Cli.run(Map.of(), "status", "--admin", "http://127.0.0.1:" + closed);
    assertThat(r.status()).isEqualTo(1);
    assertThat(r.err()).startsWith("sluice: no answer from the admin port at").hasLineCount(1);
  }

  @Test
  void versionPrintsTheVersion() {
    Cli.Result r = Cli.run(Map.of(), "version");
    assertThat(r.status()).isZero();
    assertThat(r.out()).startsWith("sluice ").contains("Java ");
  }
}
