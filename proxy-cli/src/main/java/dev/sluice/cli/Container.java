package dev.sluice.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Whether Sluice runs in a container, where logs are collected as JSON lines: Kubernetes sets
 * {@code KUBERNETES_SERVICE_HOST} in every pod; Docker creates {@code /.dockerenv}, Podman {@code
 * /run/.containerenv}; and under cgroup v1 the init process's cgroup path names the runtime. The
 * environment and the file system root are parameters so tests need no container.
 */
final class Container {
  private static final Pattern RUNTIME = Pattern.compile("docker|kubepods|containerd|libpod");

  private Container() {}

  static boolean detected(Map<String, String> env, Path root) {
    String k8s = env.get("KUBERNETES_SERVICE_HOST");
    if (k8s != null && !k8s.isBlank()) {
      return true;
    }
    if (Files.exists(root.resolve(".dockerenv"))
        || Files.exists(root.resolve("run/.containerenv"))) {
      return true;
    }
    try {
      return RUNTIME.matcher(Files.readString(root.resolve("proc/1/cgroup"))).find();
    } catch (IOException | RuntimeException unreadable) {
      return false; // no /proc (not Linux) or not allowed to read it: assume no container
    }
  }
}
