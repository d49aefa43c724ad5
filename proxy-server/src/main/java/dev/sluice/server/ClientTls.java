package dev.sluice.server;

import dev.sluice.config.ConfigException;
import dev.sluice.config.ProxyConfig;
import dev.sluice.config.TlsMode;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import java.io.File;
import java.util.List;
import javax.net.ssl.SSLException;

/**
 * TLS from clients: the certificate and key of {@code --tls-cert}/{@code --tls-key}, TLS 1.2 and
 * 1.3 only, the JDK's default (modern) cipher suites. Null when clients cannot have TLS.
 */
final class ClientTls {
  private final SslContext context;

  private ClientTls(SslContext context) {
    this.context = context;
  }

  /**
   * @return null when TLS is off or no certificate is configured
   * @throws ConfigException naming the flag when a file is unusable
   */
  static ClientTls of(ProxyConfig config) {
    if (config.tlsMode() == TlsMode.DISABLE || config.tlsCert() == null) {
      return null;
    }
    File cert = readable("--tls-cert", config.tlsCert());
    File key = readable("--tls-key", config.tlsKey());
    try {
      return new ClientTls(
          SslContextBuilder.forServer(cert, key).protocols(List.of("TLSv1.3", "TLSv1.2")).build());
    } catch (SSLException | IllegalArgumentException e) {
      throw new ConfigException(
          "--tls-cert", config.tlsCert(), "cannot use it with --tls-key: " + e.getMessage());
    }
  }

  private static File readable(String flag, String path) {
    File f = new File(path);
    if (!f.canRead()) {
      throw new ConfigException(flag, path, "the file cannot be read");
    }
    return f;
  }

  SslHandler newHandler(ByteBufAllocator alloc) {
    return context.newHandler(alloc);
  }
}
