package dev.sluice.cli;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Map;

/** Runs the {@code sluice} command in-process with a given environment, capturing its output. */
final class Cli {
  /** A launcher for tests that must never reach the server. */
  static final Launcher NO_SERVER =
      config -> {
        throw new AssertionError("the server must not start");
      };

  record Result(int status, String out, String err) {}

  private Cli() {}

  static Result run(Map<String, String> env, String... args) {
    return run(env, NO_SERVER, args);
  }

  static Result run(Map<String, String> env, Launcher launcher, String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    var command = SluiceCommand.commandLine(env, launcher);
    command.setOut(new PrintWriter(out, true));
    command.setErr(new PrintWriter(err, true));
    int status = command.execute(args);
    return new Result(status, out.toString(), err.toString());
  }
}
