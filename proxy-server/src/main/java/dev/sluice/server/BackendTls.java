package dev.sluice.server;

import dev.sluice.config.ConfigException;
import dev.sluice.config.Upstream;
import dev.sluice.config.Upstream.SslMode;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import io.netty.util.NetUtil;
import java.io.File;
import java.util.List;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;

/**
 * TLS to the upstream with libpq's {@code sslmode} semantics.
 *
 * <ul>
 *   <li>{@code disable}: never; {@code allow}: plain first, TLS if the server insists; {@code
 *       prefer} (the default): TLS first, plain if the server declines; {@code require}: TLS or
 *       nothing, the certificate not checked (checked as {@code verify-ca} when {@code sslrootcert}
 *       is given, as libpq does); {@code verify-ca}: the chain must lead to a trusted root; {@code
 *       verify-full}: and the certificate must name the host.
 *   <li>Trusted roots: {@code sslrootcert} (PEM) when given, else the JDK's, so a managed database
 *       with a public certificate (Neon) needs no extra files. {@code sslcert}/{@code sslkey} (PEM,
 *       PKCS#8 key) present a client certificate.
 *   <li>SNI carries the host name (Neon routes by it); IP literals send none. One context serves
 *       every backend of the upstream, so TLS sessions are resumed across pooled connections.
 * </ul>
 */
final class BackendTls {
  private static final List<String> PROTOCOLS = List.of("TLSv1.3", "TLSv1.2");

  private final SslMode mode;
  private final boolean verifyChain;
  private final boolean verifyHost;
  private final SslContext context;

  private BackendTls(SslMode mode, boolean verifyChain, boolean verifyHost, SslContext context) {
    this.mode = mode;
    this.verifyChain = verifyChain;
    this.verifyHost = verifyHost;
    this.context = context;
  }

  /**
   * @throws ConfigException naming {@code --upstream} when a certificate or key file is unusable
   */
  static BackendTls of(Upstream up) {
    SslMode mode = up.sslMode();
    if (mode == SslMode.DISABLE) {
      return new BackendTls(mode, false, false, null);
    }
    String rootCert = up.parameters().get("sslrootcert");
    boolean verifyChain =
        mode == SslMode.VERIFY_CA
            || mode == SslMode.VERIFY_FULL
            || (mode == SslMode.REQUIRE && rootCert != null);
    try {
      // Netty checks host names by default; only verify-full may.
      SslContextBuilder b =
          SslContextBuilder.forClient()
              .protocols(PROTOCOLS)
              .endpointIdentificationAlgorithm(mode == SslMode.VERIFY_FULL ? "HTTPS" : null);
      if (!verifyChain) {
        b.trustManager(InsecureTrustManagerFactory.INSTANCE);
      } else if (rootCert != null && !rootCert.equals("system")) {
        b.trustManager(readable(rootCert, "sslrootcert"));
      }
      String cert = up.parameters().get("sslcert");
      String key = up.parameters().get("sslkey");
      if (cert != null && key != null) {
        b.keyManager(readable(cert, "sslcert"), readable(key, "sslkey"));
      }
      return new BackendTls(mode, verifyChain, mode == SslMode.VERIFY_FULL, b.build());
    } catch (SSLException | IllegalArgumentException e) {
      throw new ConfigException(
          "--upstream", "sslmode=" + mode.flagValue(), "unusable TLS settings: " + e.getMessage());
    }
  }

  private static File readable(String path, String keyword) {
    File f = new File(path);
    if (!f.canRead()) {
      throw new ConfigException("--upstream", keyword + "=" + path, "the file cannot be read");
    }
    return f;
  }

  SslMode mode() {
    return mode;
  }

  /** Whether the first attempt asks for TLS (allow starts plain). */
  boolean tryTlsFirst() {
    return mode != SslMode.DISABLE && mode != SslMode.ALLOW;
  }

  /** Whether a server that declines TLS may be used in plain text. */
  boolean plainAllowed() {
    return mode == SslMode.ALLOW || mode == SslMode.PREFER || mode == SslMode.DISABLE;
  }

  boolean verifiesChain() {
    return verifyChain;
  }

  /** A handler for one connection to {@code host}: SNI set, the host checked for verify-full. */
  SslHandler newHandler(ByteBufAllocator alloc, String host, int port) {
    SslHandler h = context.newHandler(alloc, host, port);
    SSLEngine engine = h.engine();
    SSLParameters p = engine.getSSLParameters();
    p.setEndpointIdentificationAlgorithm(verifyHost ? "HTTPS" : null);
    if (NetUtil.isValidIpV4Address(host) || NetUtil.isValidIpV6Address(host)) {
      p.setServerNames(List.of());
    }
    engine.setSSLParameters(p);
    return h;
  }
}
