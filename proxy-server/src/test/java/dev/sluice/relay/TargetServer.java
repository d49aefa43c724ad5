package dev.sluice.relay;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A relay's target for tests: a loopback listener on a free port whose accepted sockets the test
 * takes with {@link #accepted}, so it holds both ends of each relayed connection.
 */
final class TargetServer implements AutoCloseable {
  private final ServerSocket listener;
  private final BlockingQueue<Socket> accepted = new LinkedBlockingQueue<>();
  private final Thread acceptor;

  TargetServer() throws IOException {
    listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    acceptor = new Thread(this::acceptLoop, "test-target-accept");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  InetSocketAddress address() {
    return new InetSocketAddress(InetAddress.getLoopbackAddress(), listener.getLocalPort());
  }

  /** The next socket the relay opened to this target, within 5 s. */
  Socket accepted() throws InterruptedException {
    Socket s = accepted.poll(5, TimeUnit.SECONDS);
    if (s == null) {
      throw new AssertionError("the relay did not connect to the target within 5 s");
    }
    return s;
  }

  private void acceptLoop() {
    try {
      while (!listener.isClosed()) {
        Socket s = listener.accept();
        s.setSoTimeout(10_000);
        s.setTcpNoDelay(true);
        accepted.add(s);
      }
    } catch (IOException e) {
      if (!listener.isClosed()) {
        throw new UncheckedIOException(e);
      }
    }
  }

  @Override
  public void close() throws IOException, InterruptedException {
    listener.close();
    acceptor.join(5_000);
    if (acceptor.isAlive()) {
      throw new AssertionError("the target's accept thread did not finish");
    }
    for (Socket s : accepted) {
      s.close();
    }
  }
}
