package dev.sluice.cli;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** The top-level {@code sluice} command; it only holds the subcommands. */
@Command(
    name = "sluice",
    mixinStandardHelpOptions = true,
    versionProvider = VersionProvider.class,
    description = "A PostgreSQL connection proxy: a warm, shared pool of backend connections.",
    commandListHeading = "%nCommands:%n",
    footer = {
      "",
      "Run 'sluice COMMAND --help' for the flags of a command.",
      "",
      "Examples:",
      "  sluice run --upstream postgres://app:secret@db:5432/app",
      "  DATABASE_URL=postgres://app:secret@db/app sluice run --pool-size 40",
      "  sluice check-config --config /etc/sluice/sluice.yaml",
      "  sluice status --admin http://127.0.0.1:9930"
    })
final class SluiceCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  /**
   * The whole command tree, wired to an environment and a way to start the server. {@link Main}
   * passes the process's; tests pass a map and a fake, then capture stdout and stderr with {@link
   * CommandLine#setOut} and {@link CommandLine#setErr}.
   */
  static CommandLine commandLine(Map<String, String> env, Launcher launcher) {
    return commandLine(env, launcher, Path.of("/"));
  }

  /** As above, with {@code fsRoot} standing for {@code /} where run looks for a container. */
  static CommandLine commandLine(Map<String, String> env, Launcher launcher, Path fsRoot) {
    CommandLine root = new CommandLine(new SluiceCommand());
    root.addSubcommand(withFlags(new CommandLine(new RunCommand(env, launcher, fsRoot))));
    root.addSubcommand(withFlags(new CommandLine(new CheckConfigCommand(env))));
    root.addSubcommand(new CommandLine(new StatusCommand(env)));
    root.addSubcommand(new CommandLine(new VersionCommand()));
    root.addSubcommand(new CommandLine(new RelayCommand()));
    OneLineErrors errors = new OneLineErrors();
    // Set after the subcommands are added: Picocli copies these settings down the tree.
    root.setParameterExceptionHandler(errors);
    root.setExecutionExceptionHandler(errors);
    return root;
  }

  private static CommandLine withFlags(CommandLine command) {
    Flag.addAll(command.getCommandSpec());
    FlagHelp.install(command.getCommandSpec().usageMessage());
    return command;
  }

  /** {@code sluice} with no command: show what there is, as a usage error. */
  @Override
  public Integer call() {
    spec.commandLine().usage(spec.commandLine().getErr());
    return OneLineErrors.USAGE;
  }
}
