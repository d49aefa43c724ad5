package dev.sluice.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The files shipped beside the code keep up with it. Paths are relative to the module. */
class ShippedFilesTest {

  @Test
  void envExampleListsEveryVariableWithItsDefault() throws IOException {
    String example = Files.readString(Path.of("..", "config", "sluice.env.example"));

    for (Flag f : Flag.values()) {
      if (!f.hasDefault()) {
        assertThat(example).contains("# " + f.envVar() + "=");
      } else {
        assertThat(example).contains("# " + f.envVar() + "=" + f.defaultText() + "\n");
      }
    }
  }

  @Test
  void referenceLogbackConfigIsTheShippedOne() throws IOException {
    assertThat(Files.readString(Path.of("..", "config", "logback.xml")))
        .isEqualTo(Files.readString(Path.of("src", "main", "resources", "logback.xml")));
  }
}
