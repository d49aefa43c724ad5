package dev.sluice.auth;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;

/** Helpers shared by the SCRAM tests. */
final class ScramTesting {
  static final SecureRandom RANDOM = new SecureRandom();

  private ScramTesting() {}

  /** Runs a whole exchange between a client and a server exchange. */
  static void login(ScramClient client, ScramServerExchange server) {
    byte[] serverFirst = server.serverFirst(client.clientFirst());
    byte[] serverFinal = server.serverFinal(client.clientFinal(serverFirst));
    client.verifyServerFinal(serverFinal);
  }

  static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static String text(byte[] b) {
    return new String(b, StandardCharsets.UTF_8);
  }
}
