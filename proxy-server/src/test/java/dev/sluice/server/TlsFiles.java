package dev.sluice.server;

import dev.sluice.config.ProxyConfigBuilder;
import dev.sluice.config.TlsMode;
import dev.sluice.testing.TestCertificates;
import io.netty.pkitesting.X509Bundle;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Sluice's certificate for {@code localhost} from the test CA, its key and the CA's root, as PEM
 * files for {@code --tls-cert}, {@code --tls-key} and a client's {@code sslrootcert}.
 */
record TlsFiles(X509Bundle server, Path cert, Path key, Path root) {

  static TlsFiles create() throws IOException {
    Path dir = Files.createTempDirectory("sluice-client-tls");
    X509Bundle server = TestCertificates.server("localhost", "localhost");
    return new TlsFiles(
        server,
        Files.writeString(dir.resolve("sluice.crt"), server.getCertificatePEM()),
        Files.writeString(dir.resolve("sluice.key"), server.getPrivateKeyPEM()),
        Files.writeString(
            dir.resolve("root.crt"), TestCertificates.authority().getCertificatePEM()));
  }

  /** Configures Sluice with this certificate in {@code mode}. */
  ProxyConfigBuilder apply(ProxyConfigBuilder b, TlsMode mode) {
    return b.tlsMode(mode).tlsCert(cert.toString()).tlsKey(key.toString());
  }
}
