package dev.sluice.testing;

/**
 * What an external program (psql, pgbench, initdb, ...) left behind: its exit code and everything
 * it wrote. The record's {@code toString()} shows all three, which makes it a useful assertion
 * message.
 */
public record ProcessResult(int exitCode, String stdout, String stderr) {

  /** True when the program exited with status 0. */
  public boolean succeeded() {
    return exitCode == 0;
  }
}
