package dev.sluice.testing;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs external programs for the harness. Output goes to files, never to pipes: a postmaster forked
 * by pg_ctl, or a chatty pgbench, can then never block on (or keep open) a pipe that nobody reads.
 */
final class Processes {
  private static final File DEV_NULL = new File("/dev/null");
  private static final Duration KILL_GRACE = Duration.ofSeconds(5);

  private Processes() {}

  /**
   * Runs {@code command} to completion. The environment is this JVM's minus every {@code PG*}
   * variable (a developer's PGPORT or PGHOST must not redirect a test), plus {@code env}.
   *
   * @throws IllegalStateException when the program outlives {@code timeout}; it is killed, with its
   *     children, and the message carries what it wrote so far
   */
  static ProcessResult run(
      List<String> command, Map<String, String> env, Duration timeout, Path workDir) {
    Path out = null;
    Path err = null;
    try {
      out = Files.createTempFile("sluice-process-", ".out");
      err = Files.createTempFile("sluice-process-", ".err");
      Process process =
          builder(command, env, workDir)
              .redirectOutput(out.toFile())
              .redirectError(err.toFile())
              .start();
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        kill(process);
        throw new IllegalStateException(
            "timed out after "
                + timeout
                + ": "
                + String.join(" ", command)
                + "\n--- stdout ---\n"
                + read(out)
                + "\n--- stderr ---\n"
                + read(err));
      }
      return new ProcessResult(process.exitValue(), read(out), read(err));
    } catch (IOException e) {
      throw new UncheckedIOException("could not run " + String.join(" ", command), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while running " + command.get(0), e);
    } finally {
      deleteQuietly(out);
      deleteQuietly(err);
    }
  }

  /**
   * Starts {@code command} in the background with stdout and stderr appended to {@code output}. The
   * caller owns the returned process and must stop it (see {@link #kill(Process)}).
   */
  static Process start(List<String> command, Map<String, String> env, Path output, Path workDir) {
    try {
      return builder(command, env, workDir)
          .redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.appendTo(output.toFile()))
          .start();
    } catch (IOException e) {
      throw new UncheckedIOException("could not start " + String.join(" ", command), e);
    }
  }

  /** Kills a process and everything it started, then waits briefly for it to be gone. */
  static void kill(Process process) {
    process.descendants().forEach(ProcessHandle::destroyForcibly);
    process.destroyForcibly();
    try {
      process.waitFor(KILL_GRACE.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static ProcessBuilder builder(List<String> command, Map<String, String> env, Path dir) {
    ProcessBuilder builder = new ProcessBuilder(command).directory(dir.toFile());
    builder.environment().keySet().removeIf(name -> name.startsWith("PG"));
    builder.environment().putAll(env);
    // Nothing a test runs should wait for a terminal; psql would otherwise read an open pipe.
    return builder.redirectInput(ProcessBuilder.Redirect.from(DEV_NULL));
  }

  private static String read(Path file) throws IOException {
    return new String(Files.readAllBytes(file), StandardCharsets.UTF_8);
  }

  private static void deleteQuietly(Path file) {
    if (file == null) {
      return;
    }
    try {
      Files.deleteIfExists(file);
    } catch (IOException e) {
      // A leftover temp file is harmless; the result (or the original failure) matters more.
    }
  }
}
