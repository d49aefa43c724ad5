package dev.sluice.auth;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.sluice.error.SluiceException;
import dev.sluice.error.SqlState;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Coverage-guided fuzzing of the SCRAM parsers on both sides: {@link ScramServerExchange} reading a
 * client's messages (a hostile client) and {@link ScramClient} reading a server's (a hostile
 * backend). Nonces are fixed so the fuzzer can reach past the nonce checks.
 *
 * <p>Checked for every input: the only exceptions are Sluice's own, 08P01 for a malformed or
 * out-of-order message and 28P01/28000 for a failed proof; once an exchange failed, every further
 * step fails too; an answer is only ever produced for well-formed input.
 */
class ScramFuzzTest {
  private static final String CLIENT_NONCE = "rOprNGfwEbeRWgbNEkqO";
  private static final String SERVER_NONCE = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
  private static final ScramCredentials CREDENTIALS =
      ScramCredentials.derive("pencil", "saltsaltsalt".getBytes(StandardCharsets.UTF_8), 4096);
  private static final ScramKeyCache KEYS = new ScramKeyCache();

  /** Iteration counts above this are skipped while fuzzing: each would cost a real PBKDF2. */
  private static final int CHEAP_ITERATIONS = 10_000;

  private static final Pattern ITERATIONS = Pattern.compile("i=([0-9]{1,18})");

  @FuzzTest(maxDuration = "2m")
  void serverReadsClientMessages(FuzzedDataProvider data) {
    boolean forceFail = data.consumeBoolean();
    byte[] clientFirst = data.consumeBytes(data.consumeInt(0, 1024));
    byte[] clientFinal = data.consumeRemainingAsBytes();
    ScramServerExchange x = new ScramServerExchange("app", CREDENTIALS, forceFail, SERVER_NONCE);
    byte[] serverFirst;
    try {
      serverFirst = x.serverFirst(clientFirst);
    } catch (SluiceException e) {
      expectViolation(e);
      expectRefused(() -> x.serverFinal(clientFinal));
      return;
    }
    String sf = new String(serverFirst, StandardCharsets.ISO_8859_1);
    check(sf.startsWith("r=") && sf.contains(SERVER_NONCE + ",s="), "server-first " + sf);
    try {
      x.serverFinal(clientFinal);
      check(!forceFail, "a forced failure never succeeds");
    } catch (AuthenticationFailedException e) {
      // a wrong proof: the expected end of almost every input
    } catch (SluiceException e) {
      expectViolation(e);
    }
    expectRefused(() -> x.serverFinal(clientFinal));
  }

  @FuzzTest(maxDuration = "2m")
  void clientReadsServerMessages(FuzzedDataProvider data) {
    byte[] serverFirst = data.consumeBytes(data.consumeInt(0, 1024));
    byte[] serverFinal = data.consumeRemainingAsBytes();
    Matcher m = ITERATIONS.matcher(new String(serverFirst, StandardCharsets.ISO_8859_1));
    if (m.find()
        && Long.parseLong(m.group(1)) > CHEAP_ITERATIONS
        && Long.parseLong(m.group(1)) <= ScramClient.MAX_ITERATIONS) {
      return; // legal but slow; ScramClientTest covers the bounds
    }
    ScramClient c = new ScramClient("pencil", KEYS, "", CLIENT_NONCE);
    c.clientFirst();
    try {
      byte[] clientFinal = c.clientFinal(serverFirst);
      String cf = new String(clientFinal, StandardCharsets.ISO_8859_1);
      check(cf.startsWith("c=biws,r=" + CLIENT_NONCE) && cf.contains(",p="), "client-final " + cf);
    } catch (SluiceException e) {
      expectViolation(e);
      expectRefused(() -> c.verifyServerFinal(serverFinal));
      return;
    }
    try {
      c.verifyServerFinal(serverFinal);
      throw new AssertionError("a server signature the fuzzer cannot know was accepted");
    } catch (SluiceException e) {
      check(
          e.state() == SqlState.PROTOCOL_VIOLATION
              || e.state() == SqlState.INVALID_AUTHORIZATION_SPECIFICATION,
          "SQLSTATE " + e.state());
    }
    expectRefused(() -> c.verifyServerFinal(serverFinal));
  }

  private static void expectViolation(SluiceException e) {
    check(e.state() == SqlState.PROTOCOL_VIOLATION, "SQLSTATE " + e.state() + ": " + e);
  }

  private static void expectRefused(Runnable step) {
    try {
      step.run();
    } catch (SluiceException e) {
      expectViolation(e);
      return;
    }
    throw new AssertionError("a step after the exchange ended was accepted");
  }

  private static void check(boolean ok, String what) {
    if (!ok) {
      throw new AssertionError("invariant broken: " + what);
    }
  }
}
