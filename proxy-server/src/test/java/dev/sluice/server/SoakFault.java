package dev.sluice.server;

import java.time.Duration;

/**
 * The faults a soak cycles through, one each the integration tests exercise alone: {@link
 * RestartUnderLoadIT}, {@link KilledBackendIT}, {@link DrainAndIdleIT}, {@link NetworkFaultsIT}.
 * {@link #inject} returns once the fault has healed (the server takes logins again, the network is
 * whole again) with a word on what it did.
 */
enum SoakFault {
  /**
   * {@code pg_ctl restart -m fast}: every backend ends with 57P01, logins are refused meanwhile.
   */
  RESTART("restart") {
    @Override
    String inject(SoakTarget t) {
      t.pg.restart();
      return "pg_ctl restart -m fast";
    }
  },
  /** pg_terminate_backend of a backend running a statement. */
  TERMINATE_BUSY("terminate-busy") {
    @Override
    String inject(SoakTarget t) throws Exception {
      int pid = t.busyBackend();
      return "pid " + pid + (t.terminate("pid = " + pid) == 1 ? " terminated" : " had gone");
    }
  },
  /** SIGKILL of a backend running a statement: PostgreSQL's crash restart ends every backend. */
  SIGKILL_BUSY("sigkill-busy") {
    @Override
    String inject(SoakTarget t) throws Exception {
      return "pid " + t.killBusyBackend() + " killed, crash restart done";
    }
  },
  /** pg_terminate_backend of every pool backend that is idle (outside a transaction). */
  TERMINATE_IDLE("terminate-idle") {
    @Override
    String inject(SoakTarget t) throws Exception {
      return t.terminate("state = 'idle'") + " idle backends terminated";
    }
  },
  /** Nothing passes the relay either way for a while; what it held flows once it heals. */
  BLACK_HOLE("black-hole") {
    @Override
    String inject(SoakTarget t) throws InterruptedException {
      t.relay.blackHole(true);
      try {
        Thread.sleep(BLACK_HOLE_FOR.toMillis()); // the partition's length
      } finally {
        t.relay.blackHole(false);
      }
      return BLACK_HOLE_FOR.toSeconds() + " s of black hole";
    }
  },
  /** Every connection through the relay reset (RST both ways): every backend lost at once. */
  RESET("reset") {
    @Override
    String inject(SoakTarget t) {
      return t.relay.resetAll() + " connections reset";
    }
  },
  /** Latency each way on the relay for a while. */
  LATENCY("latency") {
    @Override
    String inject(SoakTarget t) throws InterruptedException {
      t.relay.latency(LATENCY_EACH_WAY);
      try {
        Thread.sleep(LATENCY_FOR.toMillis()); // how long the slow network lasts
      } finally {
        t.relay.latency(Duration.ZERO);
      }
      return LATENCY_EACH_WAY.toMillis() + " ms each way for " + LATENCY_FOR.toSeconds() + " s";
    }
  };

  private static final Duration BLACK_HOLE_FOR = Duration.ofSeconds(3);
  private static final Duration LATENCY_EACH_WAY = Duration.ofMillis(50);
  private static final Duration LATENCY_FOR = Duration.ofSeconds(5);

  final String word;

  SoakFault(String word) {
    this.word = word;
  }

  /** Applies the fault and returns once it has healed. */
  abstract String inject(SoakTarget target) throws Exception;
}
