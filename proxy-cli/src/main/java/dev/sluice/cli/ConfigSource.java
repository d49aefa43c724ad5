package dev.sluice.cli;

import dev.sluice.config.ConfigException;
import java.io.IOException;
import java.nio.charset.MalformedInputException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The settings as the command line, the environment and the config file give them now. Each {@link
 * #get} reads the environment and the file again and assembles afresh with the same flags, so a
 * reload (SIGHUP, {@code RELOAD}) can ask for new settings and keep the old ones when the answer is
 * an error.
 *
 * <p>{@link #get} throws {@link ConfigException} for a bad value (or a file it cannot read, naming
 * the flag or variable that named it) and {@link UsageException} for a config file that is not a
 * mapping of known keys, or when no upstream is given anywhere. Both carry a one-line message.
 */
final class ConfigSource implements Supplier<CliSettings> {

  /** Reads a config file; tests pass a map of contents. */
  @FunctionalInterface
  interface FileReader {
    String read(Path path) throws IOException;
  }

  private final Map<Flag, String> given;
  private final Supplier<Map<String, String>> env;
  private final FileReader files;

  ConfigSource(Map<Flag, String> given, Supplier<Map<String, String>> env, FileReader files) {
    this.given = Map.copyOf(given);
    this.env = env;
    this.files = files;
  }

  /** Flags from the command line, this environment, files from the file system. */
  static ConfigSource of(Map<Flag, String> given, Map<String, String> env) {
    return new ConfigSource(given, () -> env, Files::readString);
  }

  @Override
  public CliSettings get() {
    Map<String, String> environment = env.get();
    return ConfigAssembler.assemble(given, environment, configFile(environment));
  }

  private ConfigFile configFile(Map<String, String> environment) {
    ConfigAssembler.Value named =
        ConfigAssembler.lookup(Flag.CONFIG, given, environment, ConfigFile.NONE);
    if (named == null) {
      return ConfigFile.NONE;
    }
    String path = named.text();
    String text;
    try {
      text = files.read(Path.of(path.strip()));
    } catch (IOException | InvalidPathException e) {
      throw new ConfigException(
          named.origin().blame(Flag.CONFIG), path, "cannot read the file: " + reason(e));
    }
    return ConfigFile.parse(path, text);
  }

  private static String reason(Exception e) {
    if (e instanceof NoSuchFileException) {
      return "no such file";
    }
    if (e instanceof AccessDeniedException) {
      return "permission denied";
    }
    if (e instanceof MalformedInputException) {
      return "not UTF-8 text";
    }
    String message = e.getMessage();
    return message == null ? e.getClass().getSimpleName() : message;
  }
}
