package dev.sluice.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The files shipped beside the code keep up with it. Paths are relative to the module. */
class ShippedFilesTest {
  private static final Path YAML_EXAMPLE = Path.of("..", "config", "sluice.yaml");

  /** A commented-out setting of the YAML example: {@code # pool-size: 20}. */
  private static final Pattern COMMENTED_SETTING = Pattern.compile("(?m)^# ([a-z-]+): (.*)$");

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
  void yamlExampleDocumentsEveryKeyWithItsDefault() throws IOException {
    String example = Files.readString(YAML_EXAMPLE);

    for (Flag f : Flag.values()) {
      if (f.fileKey() == null) {
        assertThat(example).doesNotContain("\n# " + f.flagName() + ":");
      } else if (!f.hasDefault()) {
        assertThat(example).contains("\n# " + f.fileKey() + ": ");
      } else {
        assertThat(example).contains("\n# " + f.fileKey() + ": " + f.defaultText() + "\n");
      }
    }
  }

  @Test
  void yamlExampleParsesAsShippedAndWithEverySettingUncommented() throws IOException {
    String example = Files.readString(YAML_EXAMPLE);
    ConfigFile shipped = ConfigFile.parse(YAML_EXAMPLE.toString(), example);
    Matcher commented = COMMENTED_SETTING.matcher(example);
    String uncommented =
        commented.replaceAll(m -> Flag.byFileKey(m.group(1)) == null ? "$0" : "$1: $2");

    ConfigFile every = ConfigFile.parse(YAML_EXAMPLE.toString(), uncommented);
    CliSettings s = ConfigAssembler.assemble(Map.of(), Map.of(), every);

    assertThat(shipped.values()).isEmpty();
    assertThat(every.values().keySet())
        .containsExactlyInAnyOrderElementsOf(
            java.util.Arrays.stream(Flag.values())
                .filter(f -> f.fileKey() != null)
                .collect(Collectors.toSet()));
    for (Flag f : Flag.values()) {
      if (f.fileKey() != null) {
        assertThat(s.origin(f)).as(f.name()).isEqualTo(Origin.file(YAML_EXAMPLE.toString()));
      }
      if (f.hasDefault()) {
        assertThat(f.render(s)).as(f.name()).isEqualTo(f.defaultText());
      }
    }
  }

  @Test
  void referenceLogbackConfigIsTheShippedOne() throws IOException {
    assertThat(Files.readString(Path.of("..", "config", "logback.xml")))
        .isEqualTo(Files.readString(Path.of("src", "main", "resources", "logback.xml")));
  }
}
