package dev.sluice.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** Who the JVM runs as, and how to run a program as the {@code postgres} OS user instead. */
final class OsUser {
  private static final List<Path> RUNUSER =
      List.of(Path.of("/usr/sbin/runuser"), Path.of("/sbin/runuser"), Path.of("/usr/bin/runuser"));

  private OsUser() {}

  /** True for uid 0. /proc/self belongs to the process's effective uid. */
  static boolean isRoot() {
    try {
      return ((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid")) == 0;
    } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
      return "root".equals(System.getProperty("user.name"));
    }
  }

  /** The command prefix that runs the rest of a command line as {@code postgres}. */
  static List<String> runAsPostgres() {
    Path runuser =
        Stream.of(pathEntries())
            .filter(dir -> !dir.isEmpty())
            .map(dir -> Path.of(dir, "runuser"))
            .filter(Files::isExecutable)
            .findFirst()
            .or(() -> RUNUSER.stream().filter(Files::isExecutable).findFirst())
            .orElseThrow(
                () ->
                    new IllegalStateException(
                        "running as root, PostgreSQL refuses root, and runuser (util-linux) is"
                            + " missing: run the tests as another user or install util-linux"));
    return List.of(runuser.toString(), "-u", LocalCluster.OS_USER, "--");
  }

  private static String[] pathEntries() {
    String path = System.getenv("PATH");
    return path == null ? new String[0] : path.split(":");
  }
}
