package dev.sluice.cli;

/** Entry point of the {@code sluice} command. */
public final class Main {
  private Main() {}

  public static void main(String[] args) {
    System.err.println("usage: sluice run [flags]");
    System.exit(2);
  }
}
