package dev.sluice.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ConfigFileTest {

  private static Map<Flag, String> parse(String yaml) {
    return ConfigFile.parse("s.yaml", yaml).values();
  }

  @Test
  void valuesAreKeptAsWrittenWhateverYamlWouldTypeThemAs() {
    Map<Flag, String> v =
        parse(
            """
            pool-size: 020
            admin-listen: off
            listen: 0.0.0.0:6432
            server-reset-query: ''
            allow-databases: "*"
            admin-token: 0x1F
            log-level: DEBUG   # a trailing comment
            """);

    assertThat(v)
        .containsExactlyInAnyOrderEntriesOf(
            Map.of(
                Flag.POOL_SIZE, "020",
                Flag.ADMIN_LISTEN, "off",
                Flag.LISTEN, "0.0.0.0:6432",
                Flag.SERVER_RESET_QUERY, "",
                Flag.ALLOW_DATABASES, "*",
                Flag.ADMIN_TOKEN, "0x1F",
                Flag.LOG_LEVEL, "DEBUG"));
  }

  @Test
  void emptyFilesAndKeysWithoutAValueSetNothing() {
    assertThat(parse("")).isEmpty();
    assertThat(parse("# only a comment\n")).isEmpty();
    assertThat(parse("---\n")).isEmpty();
    assertThat(parse("pool-size:\nmin-idle: ~\n")).isEmpty();
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      value = {
        "pool-sise: 3          | s.yaml: unknown key 'pool-sise' (did you mean pool-size?)",
        "POOL-SIZE: 3          | s.yaml: unknown key 'POOL-SIZE'",
        "config: other.yaml    | s.yaml: unknown key 'config'",
        "maxpools: 3           | s.yaml: unknown key 'maxpools' (did you mean max-pools?)",
        "'[1, 2]'              | s.yaml: expected 'key: value' lines, found a list",
        "just words            | s.yaml: expected 'key: value' lines, found the single value"
            + " 'just words'",
        "'pool-size: [1]'      | s.yaml: pool-size: expected a single value, found a list",
        "pool-size: *anchor    | s.yaml: pool-size: a YAML alias (*anchor) is not a value here;"
            + " quote a value that starts with *",
        "allow-databases: *    | s.yaml: not valid YAML at line 1, column 19: unexpected character"
            + " found (0) (quote a value that starts with * or &, as in allow-databases: \"*\")",
      })
  void refusedWithOneLineNamingTheFile(String yaml, String message) {
    assertThatThrownBy(() -> parse(yaml)).isInstanceOf(UsageException.class).hasMessage(message);
  }

  @Test
  void aKeyTwiceOrASecondDocumentIsRefused() {
    assertThatThrownBy(() -> parse("pool-size: 1\nmin-idle: 1\npool-size:\n"))
        .hasMessage("s.yaml: key 'pool-size' appears twice");
    assertThatThrownBy(() -> parse("pool-size: 1\n---\nmin-idle: 1\n"))
        .hasMessage("s.yaml: expected one YAML document, found more");
  }

  @Test
  void suggestionsNeedToBeClose() {
    assertThat(Suggestions.distance("pool_size", "pool-size")).isEqualTo(1);
    assertThat(Suggestions.nearest("minidle", Flag.values())).isEqualTo("min-idle");
    assertThat(Suggestions.nearest("loglevel", Flag.values())).isEqualTo("log-level");
    assertThat(Suggestions.nearest("xy", Flag.values())).isNull();
    assertThat(Suggestions.nearest("config", Flag.values())).isNull();
  }
}
