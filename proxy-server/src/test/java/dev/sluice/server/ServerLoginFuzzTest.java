package dev.sluice.server;

import static dev.sluice.server.FuzzWire.check;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.sluice.config.HostAndPort;
import dev.sluice.config.ProxyConfig;
import dev.sluice.config.Upstream;
import dev.sluice.error.ServerErrorException;
import dev.sluice.error.SluiceException;
import dev.sluice.protocol.FrameDecoder;
import dev.sluice.resilience.TransientConnectException;
import dev.sluice.testing.TrackingAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.DefaultEventLoopGroup;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.ByteArrayOutputStream;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * Coverage-guided fuzzing of Sluice's login to a backend: {@link ServerConnection} (with {@link
 * ServerLogin} and {@link BackendAuth}) behind a server {@link FrameDecoder} on an {@link
 * EmbeddedChannel}, fed what a hostile or broken backend sends, until the login completes or fails.
 *
 * <p>Checked for every input: no exception but the documented outcomes reaches the handler; a
 * failed login fails with Sluice's own error, the server's, or (for a connection that went away) a
 * transient connect failure, and closes the channel; a login only completes after the server said
 * AuthenticationOk; what Sluice sends is well-formed; every buffer is released and none is sized by
 * a declared length.
 */
class ServerLoginFuzzTest {
  private static final int MAX_MESSAGE = 1 << 20;
  private static final DefaultEventLoopGroup GROUP = new DefaultEventLoopGroup(1);
  private static final ServerPool POOL = pool();

  private static ServerPool pool() {
    Upstream up =
        new Upstream(
            List.of(new HostAndPort("127.0.0.1", 1)),
            "db",
            "app",
            "pencil",
            Upstream.SslMode.DISABLE,
            Map.of());
    ProxyContext ctx = new ProxyContext(ProxyConfig.builder(up).build(), Transport.best(), GROUP);
    return ctx.pools().get(new PoolKey("db", "app"));
  }

  @FuzzTest(maxDuration = "3m")
  void serverLogin(FuzzedDataProvider data) throws Exception {
    CompletableFuture<ServerConnection> login = new CompletableFuture<>();
    TrackingAllocator alloc = new TrackingAllocator();
    FuzzGuard guard = new FuzzGuard(new ServerConnection(POOL, login));
    EmbeddedChannel ch =
        new EmbeddedChannel(false, true, FrameDecoder.forServer(MAX_MESSAGE), guard);
    ch.config().setAllocator(alloc);
    ch.register();
    int fed = 0;
    ByteArrayOutputStream stream = new ByteArrayOutputStream();
    try {
      FuzzWire.skipStartupPacket(ch);
      while (data.remainingBytes() > 0 && ch.isActive() && !login.isDone()) {
        byte[] chunk = data.consumeBytes(data.consumeInt(1, 4096));
        if (chunk.length == 0) {
          break;
        }
        fed += chunk.length;
        stream.write(chunk);
        ch.writeInbound(alloc.heapBuffer(chunk.length).writeBytes(chunk));
        ch.runPendingTasks();
        for (FuzzWire.Sent s : FuzzWire.drain(ch, MAX_MESSAGE, false)) {
          check(s.type() == 'p', "Sluice sends only password messages while logging in");
        }
        guard.assertNoneUnexpected();
        check(alloc.largestRequest() <= 2L * fed + 4096, "allocation " + alloc.largestRequest());
      }
      if (login.isDone() && !login.isCompletedExceptionally()) {
        check(okBeforeReady(stream.toByteArray()), "logged in only after AuthenticationOk");
      }
      if (login.isCompletedExceptionally()) {
        Throwable t = login.handle((s, e) -> e).join();
        t = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
        check(
            t instanceof SluiceException
                || t instanceof ServerErrorException
                || t instanceof TransientConnectException,
            "a failed login says why: " + t);
        check(!ch.isActive(), "a failed login closes the connection");
      }
      ch.close();
      ch.runPendingTasks();
      FuzzWire.drain(ch, MAX_MESSAGE, false);
      guard.assertNoneUnexpected();
      check(login.isDone(), "the login is settled once the connection is closed");
      ch.finishAndReleaseAll();
      alloc.assertAllReleased("the backend connection closed");
    } finally {
      ch.finishAndReleaseAll();
      alloc.releaseRemaining();
    }
  }

  /** Whether the server's stream has an AuthenticationOk before its first ReadyForQuery. */
  private static boolean okBeforeReady(byte[] s) {
    ByteBuf b = Unpooled.wrappedBuffer(s);
    while (b.readableBytes() >= 5) {
      byte type = b.readByte();
      int len = b.readInt();
      if (type == 'R' && len == 8 && b.getInt(b.readerIndex()) == 0) {
        return true;
      }
      if (type == 'Z') {
        return false;
      }
      b.skipBytes(Math.min(b.readableBytes(), len - 4));
    }
    return false;
  }
}
