package dev.sluice.server;

import dev.sluice.testing.PostgresServer;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * An upstream for Sluice on a free port that is hostile for one database and honest for the rest: a
 * backend connection whose startup packet names a database starting with {@code evil} gets the
 * current {@link Script}; any other is relayed byte for byte to the real test PostgreSQL, so honest
 * clients of the same Sluice keep working while the script runs.
 */
final class FakeBackend implements AutoCloseable {
  /** What the hostile backend does once it has read Sluice's startup packet. */
  interface Script {
    void run(DataInputStream in, OutputStream out) throws IOException;
  }

  private final PostgresServer pg;
  private final ServerSocket server;
  private final ExecutorService threads = Executors.newCachedThreadPool();
  private volatile Script script = (in, out) -> {};

  FakeBackend(PostgresServer pg) throws IOException {
    this.pg = pg;
    this.server = new ServerSocket(0, 200, InetAddress.getLoopbackAddress());
    threads.execute(this::acceptLoop);
  }

  int port() {
    return server.getLocalPort();
  }

  void script(Script s) {
    script = s;
  }

  private void acceptLoop() {
    while (!server.isClosed()) {
      try {
        Socket s = server.accept();
        threads.execute(() -> serve(s));
      } catch (IOException closed) {
        return;
      }
    }
  }

  private void serve(Socket s) {
    try (s) {
      DataInputStream in = new DataInputStream(s.getInputStream());
      byte[] startup = new byte[in.readInt()];
      in.readFully(startup, 4, startup.length - 4);
      java.nio.ByteBuffer.wrap(startup).putInt(0, startup.length);
      String text = new String(startup, StandardCharsets.ISO_8859_1);
      if (text.contains("\0database\0evil")) {
        script.run(in, s.getOutputStream());
        s.getOutputStream().flush();
        s.shutdownOutput();
        in.readAllBytes(); // until Sluice hangs up
      } else {
        relay(s, startup);
      }
    } catch (IOException gone) {
      // either side hung up
    }
  }

  private void relay(Socket client, byte[] startup) throws IOException {
    try (Socket up = new Socket(pg.host(), pg.port())) {
      up.getOutputStream().write(startup);
      InputStream fromUp = up.getInputStream();
      threads.execute(() -> pump(fromUp, client));
      pump(client.getInputStream(), up);
    }
  }

  private static void pump(InputStream from, Socket to) {
    try {
      from.transferTo(to.getOutputStream());
      to.shutdownOutput();
    } catch (IOException gone) {
      // the other side closed
    }
  }

  /** Reads one message from Sluice: its body (the type byte is checked). */
  static byte[] expect(DataInputStream in, char type) throws IOException {
    char t = (char) in.readByte();
    byte[] body = new byte[in.readInt() - 4];
    in.readFully(body);
    if (t != type) {
      throw new IOException("expected '" + type + "' from Sluice, got '" + t + "'");
    }
    return body;
  }

  @Override
  public void close() throws IOException {
    server.close();
    threads.shutdownNow();
  }
}
