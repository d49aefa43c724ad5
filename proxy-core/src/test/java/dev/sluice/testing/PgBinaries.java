package dev.sluice.testing;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Where the PostgreSQL programs live.
 *
 * <p>Search order for the server programs (initdb, pg_ctl): the directory in {@code
 * SLUICE_TEST_PG_BIN}; then {@code pg_ctl} on {@code PATH} (what {@code which pg_ctl} finds),
 * followed through symlinks to the real version directory; then the highest {@code
 * /usr/lib/postgresql/<version>/bin} (Debian and Ubuntu packages). Client programs (psql, pgbench)
 * come from the same directory when it has them, so they match the server's version; Debian's
 * {@code /usr/bin/psql} is a wrapper script that picks a version by itself.
 *
 * @param serverBin directory holding initdb and pg_ctl; null when only a client is needed
 * @param clientBin directory holding psql and pgbench
 */
record PgBinaries(Path serverBin, Path clientBin) {
  static final String BIN_ENV = "SLUICE_TEST_PG_BIN";
  private static final Path DEBIAN_ROOT = Path.of("/usr/lib/postgresql");

  /** Finds the server programs, or explains how to provide them. */
  static PgBinaries forServer() {
    Path serverBin =
        fromEnv()
            .or(() -> onPath("pg_ctl").map(PgBinaries::realDirectory))
            .or(PgBinaries::highestDebianVersion)
            .filter(dir -> Files.isExecutable(dir.resolve("initdb")))
            .orElseThrow(
                () ->
                    new IllegalStateException(
                        "PostgreSQL server programs not found: no initdb/pg_ctl in $"
                            + BIN_ENV
                            + ", on PATH or under "
                            + DEBIAN_ROOT
                            + "/<version>/bin. Install the server package (Debian: apt-get"
                            + " install postgresql), point "
                            + BIN_ENV
                            + " at its bin directory, or set "
                            + SharedPostgres.URL_ENV
                            + " to a running server."));
    return new PgBinaries(serverBin, clientDirectory(serverBin));
  }

  /** For an external server: only psql and pgbench are wanted, from wherever they are. */
  static PgBinaries forClientOnly() {
    return new PgBinaries(null, clientDirectory(fromEnv().orElse(null)));
  }

  Path serverProgram(String name) {
    return serverBin.resolve(name);
  }

  private static Path clientDirectory(Path preferred) {
    if (preferred != null && Files.isExecutable(preferred.resolve("psql"))) {
      return preferred;
    }
    return onPath("psql")
        .map(Path::getParent)
        .or(PgBinaries::highestDebianVersion)
        .orElse(Path.of("/usr/bin"));
  }

  private static Optional<Path> fromEnv() {
    return Optional.ofNullable(System.getenv(BIN_ENV)).filter(s -> !s.isBlank()).map(Path::of);
  }

  private static Optional<Path> onPath(String program) {
    String path = Optional.ofNullable(System.getenv("PATH")).orElse("");
    return Arrays.stream(path.split(File.pathSeparator))
        .filter(entry -> !entry.isEmpty())
        .map(entry -> Path.of(entry).resolve(program))
        .filter(Files::isExecutable)
        .findFirst();
  }

  private static Path realDirectory(Path program) {
    try {
      return program.toRealPath().getParent();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot resolve " + program, e);
    }
  }

  private static Optional<Path> highestDebianVersion() {
    if (!Files.isDirectory(DEBIAN_ROOT)) {
      return Optional.empty();
    }
    try (Stream<Path> versions = Files.list(DEBIAN_ROOT)) {
      return versions
          .filter(dir -> dir.getFileName().toString().matches("\\d+(\\.\\d+)?"))
          .filter(dir -> Files.isExecutable(dir.resolve("bin/pg_ctl")))
          .max(Comparator.comparingDouble(dir -> Double.parseDouble(dir.getFileName().toString())))
          .map(dir -> dir.resolve("bin"));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list " + DEBIAN_ROOT, e);
    }
  }
}
