package dev.sluice.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.config.ConfigException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Re-assembly: each get() reads the environment and the file again, with the same flags. */
class ConfigSourceTest {
  private final Map<Path, String> files = new HashMap<>();
  private final Map<String, String> env = new HashMap<>();

  private ConfigSource source(Map<Flag, String> flags) {
    return new ConfigSource(
        flags,
        () -> Map.copyOf(env),
        path -> {
          String text = files.get(path);
          if (text == null) {
            throw new NoSuchFileException(path.toString());
          }
          return text;
        });
  }

  @Test
  void eachGetReadsTheFileAndTheEnvironmentAgain() {
    files.put(Path.of("/etc/sluice.yaml"), "upstream: postgres://u:pw@db/app\npool-size: 10\n");
    env.put("SLUICE_CONFIG", "/etc/sluice.yaml");
    ConfigSource source = source(Map.of(Flag.MIN_IDLE, "1"));

    CliSettings first = source.get();
    files.put(Path.of("/etc/sluice.yaml"), "upstream: postgres://u:pw@db/app\npool-size: 12\n");
    env.put("SLUICE_ACQUIRE_TIMEOUT", "3s");
    CliSettings second = source.get();

    assertThat(first.config().poolSize()).isEqualTo(10);
    assertThat(second.config().poolSize()).isEqualTo(12);
    assertThat(second.config().acquireTimeout()).hasSeconds(3);
    assertThat(second.config().minIdle()).isEqualTo(1);
    assertThat(second.origin(Flag.MIN_IDLE)).isEqualTo(Origin.flag(Flag.MIN_IDLE));
    assertThat(second.configFile()).isEqualTo("/etc/sluice.yaml");
    assertThat(second.origin(Flag.CONFIG)).isEqualTo(Origin.env("SLUICE_CONFIG"));
  }

  @Test
  void aBrokenFileOnAReloadIsAnErrorTheCallerCanKeepTheOldSettingsOn() {
    files.put(Path.of("s.yaml"), "upstream: postgres://u:pw@db/app\n");
    ConfigSource source = source(Map.of(Flag.CONFIG, "s.yaml"));
    CliSettings good = source.get();

    files.put(Path.of("s.yaml"), "upstream: postgres://u:pw@db/app\npool-size: lots\n");
    assertThatThrownBy(source::get)
        .isInstanceOf(ConfigException.class)
        .hasMessage("invalid value for pool-size in s.yaml: 'lots' (expected an integer >= 1)");

    files.put(Path.of("s.yaml"), "upstream: postgres://u:pw@db/app\npool-sizes: 3\n");
    assertThatThrownBy(source::get)
        .isInstanceOf(UsageException.class)
        .hasMessage("s.yaml: unknown key 'pool-sizes' (did you mean pool-size?)");

    files.remove(Path.of("s.yaml"));
    assertThatThrownBy(source::get)
        .isInstanceOf(ConfigException.class)
        .hasMessage("invalid value for --config: 's.yaml' (cannot read the file: no such file)");
    assertThat(good.config().poolSize()).isEqualTo(20);
  }

  @Test
  void withoutAConfigFileNothingIsRead() {
    env.put("DATABASE_URL", "postgres://u:pw@db/app");

    CliSettings s = source(Map.of()).get();

    assertThat(s.configFile()).isNull();
    assertThat(s.origin(Flag.CONFIG)).isEqualTo(Origin.DEFAULT);
  }
}
