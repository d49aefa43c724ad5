package dev.sluice.server;

import dev.sluice.config.ProxyConfig;
import java.net.InetSocketAddress;

/**
 * A running Sluice: the client listener, the backend pools and the event loops behind them. {@link
 * #start} binds and warms the pools; {@link #close} drains and stops.
 */
public final class SluiceServer implements AutoCloseable {
  private final ProxyConfig config;

  private SluiceServer(ProxyConfig config) {
    this.config = config;
  }

  /** Binds the listener (port 0 picks a free one) and opens {@code min-idle} backends. */
  public static SluiceServer start(ProxyConfig config) {
    throw new UnsupportedOperationException("not yet wired: " + config.listen());
  }

  /** The address clients connect to; the real port when the configured one was 0. */
  public InetSocketAddress localAddress() {
    return InetSocketAddress.createUnresolved(config.listen().host(), config.listen().port());
  }

  /** Blocks until {@link #close} is called from another thread or a signal handler. */
  public void awaitTermination() throws InterruptedException {
    throw new UnsupportedOperationException();
  }

  @Override
  public void close() {}
}
