package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sluice.testing.PostgresExtension;
import dev.sluice.testing.PostgresServer;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The admin port's status page in a real headless Chromium: the numbers the page shows (read from
 * its DOM, as a person would read them) follow load generated through Sluice with pgjdbc, come back
 * down when it ends, and the page says so when the admin port goes away. The page must raise no
 * JavaScript error and no Content-Security-Policy violation on the way.
 */
@ExtendWith(PostgresExtension.class)
class StatusPageIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration DEADLINE = Duration.ofSeconds(30);
  private static final int POOL_SIZE = 4;
  private static final int CLIENTS = 10;

  private final PostgresServer pg;

  StatusPageIT(PostgresServer pg) {
    this.pg = pg;
  }

  /** What the page shows: each number as its text parsed in the page, null when not a number. */
  record PageState(
      String updated,
      String status,
      boolean unreachable,
      Integer clients,
      Integer waiting,
      Integer backends,
      Integer backendLogins,
      Integer clientErrors,
      Integer replays,
      String cache,
      PoolCard pool,
      int chartPoints,
      double activeLineTop) {}

  /** One pool's numbers as its card shows them. */
  record PoolCard(Integer total, Integer active, Integer idle, Integer waiting) {}

  @Test
  void thePageFollowsLoadThroughSluiceAndShowsWhenTheAdminPortIsGone() throws Exception {
    try (HeadlessChromium browser = HeadlessChromium.launch()) {
      TestSluice s =
          TestSluice.start(
              pg,
              b ->
                  b.minIdle(1)
                      .poolSize(POOL_SIZE)
                      .serverIdleTimeout(Duration.ofSeconds(1))
                      .acquireTimeout(Duration.ofSeconds(60)));
      try {
        browser.navigate("http://127.0.0.1:" + s.server.adminAddress().getPort() + "/");
        PageState quiet =
            await(
                browser,
                "Sluice up, no clients, the pool's one warm backend",
                p ->
                    "up".equals(p.status())
                        && eq(p.clients(), 0)
                        && p.backendLogins() != null
                        && p.clientErrors() != null
                        && p.pool() != null
                        && eq(p.pool().total(), 1));
        assertThat(quiet.updated()).isNotNull();
        assertThat(quiet.unreachable()).isFalse();
        assertThat(quiet.cache()).isEqualTo("0.0% hits");

        underLoad(s, browser, quiet);

        PageState after =
            await(
                browser,
                "the load gone: no clients, nobody waiting, back to the one warm backend",
                p ->
                    p.pool() != null
                        && "up".equals(p.status())
                        && eq(p.clients(), 0)
                        && eq(p.waiting(), 0)
                        && eq(p.backends(), 1)
                        && eq(p.pool().active(), 0)
                        && eq(p.pool().total(), 1)
                        && eq(p.pool().idle(), 1));
        assertThat(after.replays()).isEqualTo(0);
        assertThat(browser.problems())
            .as("errors the page raised")
            .allMatch(StatusPageIT::degradedHealth);
      } finally {
        s.close();
      }

      PageState gone =
          await(
              browser,
              "the admin port unreachable",
              p -> p.unreachable() && "unreachable".equals(p.status()));
      assertThat(gone.clients()).as("the last numbers stay visible").isEqualTo(0);
      // Failed fetches are logged by the browser as network errors; nothing else may appear.
      assertThat(browser.problems())
          .as("errors the page raised")
          .allMatch(p -> p.kind().equals("network"));
    }
  }

  /**
   * {@value #CLIENTS} clients each open a transaction: {@value #POOL_SIZE} hold the pool's
   * backends, the others wait for one; a login with a wrong password is one client error.
   */
  private void underLoad(TestSluice s, HeadlessChromium browser, PageState quiet) throws Exception {
    List<Connection> conns = new ArrayList<>();
    ExecutorService threads = Executors.newFixedThreadPool(CLIENTS);
    CountDownLatch release = new CountDownLatch(1);
    try {
      // All log in first: pgjdbc's login runs a query, which would wait behind the transactions.
      for (int i = 0; i < CLIENTS; i++) {
        Connection c = s.connect();
        c.setAutoCommit(false);
        conns.add(c);
      }
      List<Future<?>> txs = new ArrayList<>();
      for (Connection c : conns) {
        txs.add(threads.submit(() -> holdTransaction(c, release)));
      }
      assertThatThrownBy(
              () -> DriverManager.getConnection(s.jdbcUrl(), pg.appUser(), "not the password"))
          .isInstanceOf(SQLException.class);

      PageState busy =
          await(
              browser,
              CLIENTS + " clients, " + POOL_SIZE + " active backends, the others waiting",
              p ->
                  p.pool() != null
                      && eq(p.clients(), CLIENTS)
                      && eq(p.pool().total(), POOL_SIZE)
                      && eq(p.pool().active(), POOL_SIZE)
                      && eq(p.pool().waiting(), CLIENTS - POOL_SIZE)
                      && eq(p.waiting(), CLIENTS - POOL_SIZE)
                      && eq(p.backends(), POOL_SIZE)
                      && eq(p.clientErrors(), quiet.clientErrors() + 1));
      assertThat(busy.backendLogins()).isGreaterThanOrEqualTo(quiet.backendLogins() + 3);
      assertThat(busy.updated())
          .as("the time of the last update moves")
          .isNotEqualTo(quiet.updated());
      assertThat(busy.chartPoints()).as("samples drawn").isGreaterThan(1);
      assertThat(busy.activeLineTop())
          .as("the active line rises above the chart's floor")
          .isLessThan(90.0);

      release.countDown();
      for (Future<?> tx : txs) {
        tx.get(DEADLINE.toSeconds(), TimeUnit.SECONDS);
      }
    } finally {
      release.countDown();
      threads.shutdownNow();
      for (Connection c : conns) {
        c.close();
      }
    }
  }

  /** BEGIN and a statement (which holds a backend, or waits for one), then COMMIT on release. */
  private static Void holdTransaction(Connection c, CountDownLatch release) throws Exception {
    try (Statement st = c.createStatement()) {
      st.execute("SELECT 1");
      release.await();
      c.commit();
    }
    return null;
  }

  /**
   * The browser logs /health's 503 as a failed load; that is the answer while Sluice is degraded,
   * as it is for a moment at start before the pool's warm backend has logged in.
   */
  private static boolean degradedHealth(HeadlessChromium.Problem p) {
    return p.kind().equals("network")
        && p.text().contains("status of 503")
        && p.text().endsWith("/health");
  }

  private static boolean eq(Integer shown, int expected) {
    return shown != null && shown == expected;
  }

  /** Polls the page until {@code until} holds, failing with what it showed last. */
  private PageState await(HeadlessChromium browser, String what, Predicate<PageState> until)
      throws InterruptedException {
    long deadline = System.nanoTime() + DEADLINE.toNanos();
    PageState last;
    while (!until.test(last = read(browser))) {
      List<HeadlessChromium.Problem> pageErrors =
          browser.problems().stream().filter(p -> !p.kind().equals("network")).toList();
      if (!pageErrors.isEmpty()) {
        fail("waiting for the page to show %s, it raised %s", what, pageErrors);
      }
      if (System.nanoTime() - deadline > 0) {
        fail(
            "the page never showed %s within %s; it shows %s; problems: %s",
            what, DEADLINE, last, browser.problems());
      }
      Thread.sleep(100);
    }
    return last;
  }

  private PageState read(HeadlessChromium browser) throws InterruptedException {
    String pool = pg.appDatabase() + "/" + pg.appUser();
    String js =
        """
        (() => {
          const num = (el) => el !== null && /^[0-9]+$/.test(el.textContent.trim())
            ? Number(el.textContent.trim()) : null;
          const text = (id) => document.getElementById(id).textContent.trim();
          const id = (i) => num(document.getElementById(i));
          const card = document.querySelector('[data-pool="%s"]');
          const field = (f) => num(card.querySelector('[data-field="' + f + '"]'));
          const line = card === null ? ''
            : card.querySelector('polyline.active').getAttribute('points').trim();
          const points = line === '' ? [] : line.split(' ').map((p) => Number(p.split(',')[1]));
          const updated = document.getElementById('updated').dateTime;
          return {
            updated: updated === '' ? null : updated,
            status: text('status'),
            unreachable: !document.getElementById('unreachable').hidden,
            clients: id('clients'),
            waiting: id('waiting'),
            backends: id('backends'),
            backendLogins: id('backend-logins'),
            clientErrors: id('client-errors'),
            replays: id('replays'),
            cache: text('cache'),
            pool: card === null ? null : {
              total: field('total'), active: field('active'),
              idle: field('idle'), waiting: field('waiting'),
            },
            chartPoints: points.length,
            activeLineTop: points.length === 0 ? 100 : Math.min(...points),
          };
        })()
        """
            .formatted(pool);
    return JSON.convertValue(browser.evaluate(js), PageState.class);
  }
}
