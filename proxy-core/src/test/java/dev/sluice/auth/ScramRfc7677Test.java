package dev.sluice.auth;

import static dev.sluice.auth.ScramTesting.text;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.Base64;
import org.junit.jupiter.api.Test;

/** The SCRAM-SHA-256 example of RFC 7677 section 3, client and server run against each other. */
class ScramRfc7677Test {
  private static final byte[] SALT = Base64.getDecoder().decode("W22ZaJ0SNY7soEsUEjb6gQ==");
  private static final String CLIENT_NONCE = "rOprNGfwEbeRWgbNEkqO";
  private static final String SERVER_NONCE = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
  private static final String NONCE = CLIENT_NONCE + SERVER_NONCE;

  @Test
  void clientAndServerReproduceEveryMessageOfTheExample() {
    ScramClient client = new ScramClient("pencil", new ScramKeyCache(), "user", CLIENT_NONCE);
    ScramServerExchange server =
        new ScramServerExchange(
            "user", ScramCredentials.derive("pencil", SALT, 4096), false, SERVER_NONCE);

    byte[] clientFirst = client.clientFirst();
    assertThat(text(clientFirst)).isEqualTo("n,,n=user,r=" + CLIENT_NONCE);

    byte[] serverFirst = server.serverFirst(clientFirst);
    assertThat(text(serverFirst)).isEqualTo("r=" + NONCE + ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");

    byte[] clientFinal = client.clientFinal(serverFirst);
    assertThat(text(clientFinal))
        .isEqualTo("c=biws,r=" + NONCE + ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");

    byte[] serverFinal = server.serverFinal(clientFinal);
    assertThat(text(serverFinal)).isEqualTo("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");

    client.verifyServerFinal(serverFinal);
  }
}
