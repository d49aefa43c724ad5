package dev.sluice.cli;

import dev.sluice.config.ProxyConfig;
import dev.sluice.server.SluiceServer;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Starts the proxy for {@code sluice run}. Production starts a {@link SluiceServer}; tests pass a
 * fake so they never bind a socket.
 */
@FunctionalInterface
interface Launcher {

  /** Binds and starts; throws whatever the server throws when it cannot. */
  Running start(ProxyConfig config);

  /** The part of a started proxy that {@code run} needs. */
  interface Running extends AutoCloseable {
    InetSocketAddress localAddress();

    void awaitTermination() throws InterruptedException;

    /** Stops accepting, lets transactions in flight finish (bounded), then closes. */
    default void drain() {
      close();
    }

    /** Where RELOAD and SIGHUP read the configuration anew. */
    default void reloadFrom(Supplier<ProxyConfig> source) {}

    /** Reads the configuration again and applies what can change; see SluiceServer#reload. */
    default Map<String, Object> reload(String who) {
      return Map.of();
    }

    @Override
    void close();
  }

  static Launcher sluiceServer() {
    return config -> {
      SluiceServer server = SluiceServer.start(config);
      return new Running() {
        @Override
        public InetSocketAddress localAddress() {
          return server.localAddress();
        }

        @Override
        public void awaitTermination() throws InterruptedException {
          server.awaitTermination();
        }

        @Override
        public void reloadFrom(Supplier<ProxyConfig> source) {
          server.reloadFrom(source);
        }

        @Override
        public Map<String, Object> reload(String who) {
          return server.reload(who);
        }

        @Override
        public void drain() {
          server.drain(config.shutdownTimeout());
        }

        @Override
        public void close() {
          server.close();
        }
      };
    };
  }
}
