package dev.sluice.cli;

import java.io.PrintWriter;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * {@code sluice check-config}: validate the flags, environment and config file, print what would
 * run and where each value came from.
 */
@Command(
    name = "check-config",
    mixinStandardHelpOptions = true,
    versionProvider = VersionProvider.class,
    sortOptions = false,
    abbreviateSynopsis = true,
    description = {
      "Validate the flags, environment and config file as run does; print the effective config.",
      "One 'key = value  (origin)' per line, password masked. Exits 2 on the first bad value."
    },
    footer = {
      "",
      "Takes the same flags and environment variables as run (see sluice run --help).",
      "",
      "Examples:",
      "  sluice check-config --config /etc/sluice/sluice.yaml",
      "  DATABASE_URL=postgres://app:secret@db/app sluice check-config --pool-size 40"
    })
final class CheckConfigCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  private final Map<String, String> env;

  CheckConfigCommand(Map<String, String> env) {
    this.env = env;
  }

  @Override
  public Integer call() {
    CliSettings settings = ConfigSource.of(Flag.given(spec), env).get();
    PrintWriter out = spec.commandLine().getOut();
    settings.lines().forEach(out::println);
    out.flush();
    return 0;
  }
}
