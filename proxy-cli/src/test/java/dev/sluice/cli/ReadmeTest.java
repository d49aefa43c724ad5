package dev.sluice.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The README's table of flags says what the code does. */
class ReadmeTest {
  private static final String HEADER = "| flag | env var | config key | default | description |";
  private static final Pattern FLAG_CELL = Pattern.compile("`--([a-z-]+)[ `]");
  private static final Pattern CHECK_CONFIG_LINE =
      Pattern.compile("([a-z-]+) = (.*?)  \\((default|from .*)\\)");

  /** One row of the table: the cells with their backticks removed. */
  private record Row(String flag, String envVar, String fileKey, String defaultText) {}

  private static List<Row> table() throws IOException {
    List<String> lines = Files.readAllLines(Path.of("..", "README.md"));
    int start = lines.indexOf(HEADER);
    assertThat(start).as("the README has the table of flags").isNotNegative();
    List<Row> rows = new ArrayList<>();
    for (String line : lines.subList(start + 2, lines.size())) {
      if (!line.startsWith("|")) {
        break;
      }
      String[] cells = line.substring(1, line.length() - 1).split("(?<!\\\\)\\|");
      Matcher flag = FLAG_CELL.matcher(cells[0]);
      assertThat(flag.find()).as(line).isTrue();
      rows.add(new Row(flag.group(1), plain(cells[1]), plain(cells[2]), plain(cells[3])));
    }
    return rows;
  }

  private static String plain(String cell) {
    return cell.strip().replace("`", "");
  }

  @Test
  void everyFlagHasOneRowAndNoRowIsExtra() throws IOException {
    List<String> documented = table().stream().map(Row::flag).toList();

    assertThat(documented)
        .containsExactlyElementsOf(Arrays.stream(Flag.values()).map(Flag::flagName).toList());
  }

  @Test
  void eachRowNamesTheVariableAndTheConfigKey() throws IOException {
    for (Row row : table()) {
      Flag f = flag(row.flag());
      assertThat(row.envVar()).as(row.flag()).isEqualTo(f.envVar());
      assertThat(row.fileKey()).as(row.flag()).isEqualTo(f.fileKey() == null ? "—" : f.fileKey());
    }
  }

  /** The defaults are the values check-config prints as "(default)". */
  @Test
  void defaultsAreWhatCheckConfigPrints() throws IOException {
    Cli.Result r = Cli.run(Map.of(), "check-config", "--upstream", "postgres://u:pw@h/db");
    Map<String, String> defaults = new HashMap<>();
    for (String line : r.out().split("\n")) {
      Matcher m = CHECK_CONFIG_LINE.matcher(line);
      if (m.matches() && m.group(3).equals("default")) {
        defaults.put(m.group(1), m.group(2));
      }
    }

    for (Row row : table()) {
      Flag f = flag(row.flag());
      String expected = f.hasDefault() ? defaults.get(f.flagName()) : "none";
      assertThat(row.defaultText()).as(row.flag()).isEqualTo(expected);
      if (f != Flag.UPSTREAM) {
        assertThat(defaults).containsEntry(f.flagName(), f.defaultText());
      }
    }
  }

  private static Flag flag(String name) {
    return Arrays.stream(Flag.values())
        .filter(f -> f.flagName().equals(name))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no flag --" + name));
  }
}
