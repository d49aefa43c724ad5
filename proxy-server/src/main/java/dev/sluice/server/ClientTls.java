package dev.sluice.server;

import dev.sluice.auth.TlsServerEndPoint;
import dev.sluice.config.ConfigException;
import dev.sluice.config.ProxyConfig;
import dev.sluice.config.TlsMode;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.HexFormat;
import java.util.List;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * TLS from clients: the certificate and key of {@code --tls-cert}/{@code --tls-key}, or with {@code
 * --tls-cert self-signed} a {@link DevCertificate}; TLS 1.2 and 1.3 only, the JDK's default
 * (modern) cipher suites, ALPN {@code postgresql} (PostgreSQL 17's protocol name: a client offering
 * only other protocols fails its handshake; one offering none is accepted after an SSLRequest,
 * refused on direct TLS, see {@link DirectTlsDetector}). Also the {@code tls-server-end-point} hash
 * of the certificate, for SCRAM channel binding. Null when clients cannot have TLS.
 */
final class ClientTls {
  private static final Logger log = LoggerFactory.getLogger(ClientTls.class);

  /** The ALPN protocol of PostgreSQL's wire protocol (PostgreSQL 17, libpq 17, pgjdbc 42.7.4+). */
  static final String ALPN = "postgresql";

  private final SslContext context;
  private final byte[] channelBinding;

  private ClientTls(SslContextBuilder builder, X509Certificate leaf) throws SSLException {
    this.context =
        builder
            // The JDK's engine: Netty's OpenSSL one would not refuse a wrong ALPN protocol.
            .sslProvider(SslProvider.JDK)
            .protocols(List.of("TLSv1.3", "TLSv1.2"))
            .applicationProtocolConfig(
                new ApplicationProtocolConfig(
                    ApplicationProtocolConfig.Protocol.ALPN,
                    ApplicationProtocolConfig.SelectorFailureBehavior.FATAL_ALERT,
                    ApplicationProtocolConfig.SelectedListenerFailureBehavior.FATAL_ALERT,
                    ALPN))
            .build();
    this.channelBinding = TlsServerEndPoint.of(leaf);
  }

  /**
   * @return null when TLS is off
   * @throws ConfigException naming the flag when a file is unusable
   */
  static ClientTls of(ProxyConfig config) {
    if (config.tlsMode() == TlsMode.DISABLE || config.tlsCert() == null) {
      // allow without a certificate: SSLRequest is answered 'N' (ProxyConfig refuses require).
      // Not a certificate of Sluice's own making: clients with libpq's default sslmode=prefer
      // would then pay a TLS handshake and encryption for a certificate nobody can verify.
      return null;
    }
    if (ProxyConfig.SELF_SIGNED.equals(config.tlsCert())) {
      return selfSigned(config.listen().host());
    }
    File cert = readable("--tls-cert", config.tlsCert());
    File key = readable("--tls-key", config.tlsKey());
    try {
      return new ClientTls(SslContextBuilder.forServer(cert, key), leaf(cert));
    } catch (IllegalArgumentException | CertificateException | IOException e) {
      throw new ConfigException(
          "--tls-cert", config.tlsCert(), "cannot use it with --tls-key: " + e.getMessage());
    }
  }

  private static ClientTls selfSigned(String listenHost) {
    DevCertificate dev = DevCertificate.generate(listenHost);
    try {
      ClientTls tls =
          new ClientTls(
              SslContextBuilder.forServer(dev.key(), dev.certificate()), dev.certificate());
      log.warn(
          "TLS from clients: --tls-cert self-signed, so Sluice made a certificate for {}"
              + " (SHA-256 fingerprint {}); it is for development only: clients can encrypt"
              + " (sslmode=require) but cannot verify it. Give --tls-cert and --tls-key, or"
              + " --tls-mode disable.",
          String.join(", ", dev.names()),
          fingerprint(dev.certificate()));
      return tls;
    } catch (SSLException e) {
      throw new IllegalStateException("cannot use the self-signed certificate: " + e, e);
    }
  }

  /** The first certificate of a PEM chain: the one clients verify and bind to. */
  private static X509Certificate leaf(File pem) throws IOException, CertificateException {
    try (InputStream in = Files.newInputStream(pem.toPath())) {
      var all = CertificateFactory.getInstance("X.509").generateCertificates(in);
      if (all.isEmpty()) {
        throw new CertificateException("no certificate in the file");
      }
      return (X509Certificate) all.iterator().next();
    }
  }

  private static String fingerprint(X509Certificate cert) {
    try {
      return HexFormat.ofDelimiter(":")
          .withUpperCase()
          .formatHex(MessageDigest.getInstance("SHA-256").digest(cert.getEncoded()));
    } catch (NoSuchAlgorithmException | CertificateEncodingException e) {
      return "unknown";
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

  /**
   * The {@code tls-server-end-point} hash of the certificate clients see, for SCRAM-SHA-256-PLUS;
   * null when its signature algorithm allows no binding (then -PLUS is not offered).
   */
  byte[] channelBinding() {
    return channelBinding;
  }
}
