package dev.sluice.cli;

/** Entry point of the {@code sluice} command. */
public final class Main {
  private Main() {}

  public static void main(String[] args) {
    int status = SluiceCommand.commandLine(System.getenv(), Launcher.sluiceServer()).execute(args);
    System.exit(status);
  }
}
