package dev.sluice.cli;

/**
 * Where a setting's value came from: a flag, an environment variable, the config file, or nowhere
 * (the default). {@code check-config} prints it beside each value, and an error about a value
 * blames it, so an operator knows which of the three places to edit.
 */
record Origin(Kind kind, String name) {
  enum Kind {
    FLAG,
    ENV,
    FILE,
    DEFAULT
  }

  static final Origin DEFAULT = new Origin(Kind.DEFAULT, "");

  static Origin flag(Flag flag) {
    return new Origin(Kind.FLAG, flag.option());
  }

  static Origin env(String variable) {
    return new Origin(Kind.ENV, variable);
  }

  static Origin file(String path) {
    return new Origin(Kind.FILE, path);
  }

  /**
   * The name an error gives for {@code flag}'s value from here: {@code --pool-size}, {@code
   * SLUICE_POOL_SIZE}, or {@code pool-size in /etc/sluice/sluice.yaml}.
   */
  String blame(Flag flag) {
    return switch (kind) {
      case FLAG, ENV -> name;
      case FILE -> flag.fileKey() + " in " + name;
      case DEFAULT -> flag.option();
    };
  }

  /** As {@code check-config} shows it: {@code from --pool-size}, {@code default}. */
  String describe() {
    return switch (kind) {
      case FLAG -> "from " + name;
      case ENV -> "from env " + name;
      case FILE -> "from file " + name;
      case DEFAULT -> "default";
    };
  }
}
