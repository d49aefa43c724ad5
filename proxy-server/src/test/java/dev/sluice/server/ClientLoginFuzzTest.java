package dev.sluice.server;

import static dev.sluice.server.FuzzWire.check;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.sluice.config.ClientAuth;
import dev.sluice.config.HostAndPort;
import dev.sluice.config.ProxyConfig;
import dev.sluice.config.Upstream;
import dev.sluice.engine.CloseReason;
import dev.sluice.protocol.FrameDecoder;
import dev.sluice.protocol.MessageMemory;
import dev.sluice.testing.TrackingAllocator;
import io.netty.channel.DefaultEventLoopGroup;
import io.netty.channel.embedded.EmbeddedChannel;
import java.time.Duration;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Coverage-guided fuzzing of a client's startup and authentication: {@link ClientConnection} (with
 * {@link ClientStartup} and {@link ClientLogin}) behind its {@link FrameDecoder} on an {@link
 * EmbeddedChannel}, fed what a hostile client sends, in chunks the fuzzer chooses, until the client
 * is logged in or the connection closed; optionally the login timeout fires at the end.
 *
 * <p>Checked for every input: no exception but the documented protocol outcomes reaches the handler
 * (see {@link FuzzGuard}), no XX000 is ever sent, whatever is sent is well-formed, every buffer is
 * released, no allocation is sized by a declared length, and once the connection is gone the
 * server's counts (pending logins, clients, cancel keys, message memory) are back to zero.
 */
class ClientLoginFuzzTest {
  private static final int MAX_MESSAGE = 1 << 20;
  private static final Duration LOGIN_TIMEOUT = Duration.ofSeconds(5);
  private static final DefaultEventLoopGroup GROUP = new DefaultEventLoopGroup(1);
  private static final Map<ClientAuth, ProxyContext> CONTEXTS = new EnumMap<>(ClientAuth.class);

  private static synchronized ProxyContext context(ClientAuth auth) {
    return CONTEXTS.computeIfAbsent(auth, ClientLoginFuzzTest::newContext);
  }

  private static ProxyContext newContext(ClientAuth auth) {
    Upstream up =
        new Upstream(
            List.of(new HostAndPort("127.0.0.1", 1)),
            "db",
            "app",
            "secret",
            Upstream.SslMode.DISABLE,
            Map.of());
    ProxyConfig config =
        ProxyConfig.builder(up)
            .clientAuth(auth)
            .maxMessageSize(MAX_MESSAGE)
            .clientLoginTimeout(LOGIN_TIMEOUT)
            .cache(c -> c.withEnabled(false))
            .build();
    ProxyContext c = new ProxyContext(config, Transport.best(), GROUP);
    Map<String, String> report = new LinkedHashMap<>();
    report.put("server_version", "15.0");
    report.put("DateStyle", "ISO, MDY");
    // as if a backend had logged in: a client's login needs none
    c.pools().get(new PoolKey("db", "app")).learnDefaults(report, 1);
    return c;
  }

  @FuzzTest(maxDuration = "3m")
  void clientLogin(FuzzedDataProvider data) throws Exception {
    ProxyContext ctx = context(data.pickValue(ClientAuth.values()));
    MessageMemory memory = new MessageMemory(data.consumeLong(1, 1 << 20));
    boolean timeOut = data.consumeBoolean();
    long internalErrorsBefore = ctx.stats().clientCloses(CloseReason.INTERNAL_ERROR).sum();
    TrackingAllocator alloc = new TrackingAllocator();
    FuzzGuard guard = new FuzzGuard(new ClientConnection(ctx));
    EmbeddedChannel ch =
        new EmbeddedChannel(false, true, FrameDecoder.forClient(MAX_MESSAGE, memory), guard);
    ch.config().setAllocator(alloc);
    ch.register();
    ch.freezeTime();
    int fed = 0;
    try {
      boolean loggedIn = false;
      while (data.remainingBytes() > 0 && ch.isActive() && !loggedIn) {
        byte[] chunk = data.consumeBytes(data.consumeInt(1, 4096));
        if (chunk.length == 0) {
          break;
        }
        fed += chunk.length;
        ch.writeInbound(alloc.heapBuffer(chunk.length).writeBytes(chunk));
        ch.runPendingTasks();
        loggedIn = FuzzWire.drain(ch, MAX_MESSAGE, true).stream().anyMatch(s -> s.type() == 'Z');
        guard.assertNoneUnexpected();
        check(alloc.largestRequest() <= 2L * fed + 4096, "allocation " + alloc.largestRequest());
      }
      if (timeOut && ch.isActive()) {
        ch.advanceTimeBy(LOGIN_TIMEOUT.toMillis() + 1, TimeUnit.MILLISECONDS);
        ch.runScheduledPendingTasks();
        List<FuzzWire.Sent> sent = FuzzWire.drain(ch, MAX_MESSAGE, true);
        check(loggedIn || !ch.isActive(), "the login timeout closes a connection still logging in");
        check(loggedIn || sent.stream().anyMatch(s -> "57014".equals(s.sqlState())), "57014 sent");
      }
      ch.close();
      ch.runPendingTasks();
      FuzzWire.drain(ch, MAX_MESSAGE, true);
      guard.assertNoneUnexpected();
      check(
          ctx.stats().clientCloses(CloseReason.INTERNAL_ERROR).sum() == internalErrorsBefore,
          "no connection closed as an internal error");
      check(ctx.pendingLogins().size() == 0, "pending logins back to 0");
      check(ctx.clientCount() == 0, "clients back to 0");
      check(ctx.cancels().size() == 0, "cancel keys back to 0");
      check(memory.reserved() == 0 && memory.waiting() == 0, "message memory returned");
      ch.finishAndReleaseAll();
      alloc.assertAllReleased("the client connection closed");
    } finally {
      ch.finishAndReleaseAll();
      alloc.releaseRemaining();
    }
  }
}
