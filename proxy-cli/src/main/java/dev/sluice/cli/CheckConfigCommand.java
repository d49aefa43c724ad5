package dev.sluice.cli;

import java.io.PrintWriter;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code sluice check-config}: validate the flags and environment, print what would run. */
@Command(
    name = "check-config",
    mixinStandardHelpOptions = true,
    versionProvider = VersionProvider.class,
    sortOptions = false,
    abbreviateSynopsis = true,
    description = {
      "Validate the flags and environment as run does; print the effective config.",
      "One 'key = value' per line, password masked. Exits 2 on the first bad value."
    },
    footer = {"", "Takes the same flags and environment variables as run (see sluice run --help)."})
final class CheckConfigCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  private final Map<String, String> env;

  CheckConfigCommand(Map<String, String> env) {
    this.env = env;
  }

  @Override
  public Integer call() {
    CliSettings settings = ConfigAssembler.assemble(Flag.given(spec), env);
    PrintWriter out = spec.commandLine().getOut();
    settings.lines().forEach(out::println);
    out.flush();
    return 0;
  }
}
