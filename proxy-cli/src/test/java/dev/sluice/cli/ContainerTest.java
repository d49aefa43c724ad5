package dev.sluice.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ContainerTest {
  @TempDir Path root;

  @Test
  void aPlainHostIsNoContainer() throws IOException {
    cgroup("0::/init.scope\n");

    assertThat(Container.detected(Map.of(), root)).isFalse();
    assertThat(Container.detected(Map.of("KUBERNETES_SERVICE_HOST", " "), root)).isFalse();
    assertThat(Container.detected(Map.of(), root.resolve("missing"))).isFalse();
  }

  @Test
  void kubernetesSetsItsServiceHostInEveryPod() {
    assertThat(Container.detected(Map.of("KUBERNETES_SERVICE_HOST", "10.0.0.1"), root)).isTrue();
  }

  @Test
  void dockerAndPodmanLeaveAFileAtTheRoot() throws IOException {
    Files.createFile(root.resolve(".dockerenv"));

    assertThat(Container.detected(Map.of(), root)).isTrue();
  }

  @Test
  void podmanLeavesAFileInRun() throws IOException {
    Files.createDirectories(root.resolve("run"));
    Files.createFile(root.resolve("run/.containerenv"));

    assertThat(Container.detected(Map.of(), root)).isTrue();
  }

  @Test
  void cgroupV1PathsNameTheRuntime() throws IOException {
    cgroup("12:pids:/kubepods/burstable/pod1234/abcd\n");
    assertThat(Container.detected(Map.of(), root)).isTrue();

    cgroup("3:cpu:/docker/0123456789ab\n");
    assertThat(Container.detected(Map.of(), root)).isTrue();
  }

  @Test
  void autoResolvesToJsonOnlyInAContainer() {
    assertThat(LogFormat.AUTO.resolve(true)).isEqualTo(LogFormat.JSON);
    assertThat(LogFormat.AUTO.resolve(false)).isEqualTo(LogFormat.TEXT);
    assertThat(LogFormat.TEXT.resolve(true)).isEqualTo(LogFormat.TEXT);
    assertThat(LogFormat.JSON.resolve(false)).isEqualTo(LogFormat.JSON);
  }

  private void cgroup(String content) throws IOException {
    Files.createDirectories(root.resolve("proc/1"));
    Files.writeString(root.resolve("proc/1/cgroup"), content);
  }
}
