package dev.sluice.cli;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.Map;

/** Runs the {@code sluice} command in-process with a given environment, capturing its output. */
final class Cli {
  /** A launcher for tests that must never reach the server. */
  static final Launcher NO_SERVER =
      config -> {
        throw new AssertionError("the server must not start");
      };

  /**
   * Stands for {@code /} where run looks for signs of a container: a directory that does not exist,
   * so {@code --log-format auto} means text whatever machine the tests run on.
   */
  static final Path NO_CONTAINER = Path.of("target", "no-container-root");

  record Result(int status, String out, String err) {}

  private Cli() {}

  static Result run(Map<String, String> env, String... args) {
    return run(env, NO_SERVER, args);
  }

  static Result run(Map<String, String> env, Launcher launcher, String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    var command = SluiceCommand.commandLine(env, launcher, NO_CONTAINER);
    command.setOut(new PrintWriter(out, true));
    command.setErr(new PrintWriter(err, true));
    int status = command.execute(args);
    return new Result(status, out.toString(), err.toString());
  }
}
