package dev.sluice.cli;

import dev.sluice.config.ConfigException;
import dev.sluice.error.SafeErrors;
import picocli.CommandLine;
import picocli.CommandLine.IExecutionExceptionHandler;
import picocli.CommandLine.IParameterExceptionHandler;
import picocli.CommandLine.MissingParameterException;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.UnmatchedArgumentException;

/**
 * Every error the command reports is one line on stderr starting {@code sluice: }, never a stack
 * trace or a usage dump. Usage errors (a bad flag, a bad value, no upstream) exit with status 2;
 * anything else that stops the command exits with 1.
 */
final class OneLineErrors implements IParameterExceptionHandler, IExecutionExceptionHandler {
  static final int FAILURE = 1;
  static final int USAGE = 2;

  @Override
  public int handleParseException(ParameterException ex, String[] args) {
    CommandLine command = ex.getCommandLine();
    String hint = " (see " + command.getCommandSpec().qualifiedName() + " --help)";
    print(command, describe(ex) + hint);
    return USAGE;
  }

  @Override
  public int handleExecutionException(Exception ex, CommandLine command, ParseResult parsed) {
    if (ex instanceof ConfigException || ex instanceof UsageException) {
      print(command, ex.getMessage());
      return USAGE;
    }
    print(command, SafeErrors.describe(ex));
    return FAILURE;
  }

  /** The message for an error whose cause is not a usage mistake, such as a port in use. */
  static String render(Exception ex) {
    return ex instanceof ConfigException ? ex.getMessage() : SafeErrors.describe(ex);
  }

  static void print(CommandLine command, String message) {
    command.getErr().println("sluice: " + message.replaceAll("[\\p{Cntrl}]+", " ").strip());
    command.getErr().flush();
  }

  private static String describe(ParameterException ex) {
    if (ex instanceof UnmatchedArgumentException unmatched && !unmatched.getUnmatched().isEmpty()) {
      String arg = unmatched.getUnmatched().get(0);
      if (arg.startsWith("-")) {
        int eq = arg.indexOf('=');
        return "unknown option '" + (eq > 0 ? arg.substring(0, eq) : arg) + "'";
      }
      boolean hasCommands = !ex.getCommandLine().getSubcommands().isEmpty();
      return (hasCommands ? "unknown command '" : "unexpected argument '") + arg + "'";
    }
    if (ex instanceof MissingParameterException missing && !missing.getMissing().isEmpty()) {
      ArgSpec arg = missing.getMissing().get(0);
      if (arg instanceof OptionSpec option) {
        return "missing value for " + option.longestName();
      }
    }
    String message = ex.getMessage() == null ? "invalid arguments" : ex.getMessage();
    return message.lines().findFirst().orElse(message);
  }
}
