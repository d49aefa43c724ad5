package dev.sluice.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class HelpTest {

  @Test
  void runHelpShowsEveryFlagWithItsDefaultAndVariable() {
    Cli.Result r = Cli.run(Map.of(), "run", "--help");

    assertThat(r.status()).isZero();
    String help = r.out().replaceAll("\\s+", " ");
    for (Flag f : Flag.values()) {
      assertThat(help).contains(f.option()).contains("Env: " + f.envVar());
      if (f != Flag.UPSTREAM) {
        assertThat(help).contains("Default: " + f.defaultText() + ".");
      }
    }
    assertThat(help).contains("DATABASE_URL");
  }

  /** Each flag is listed once, under the heading of its section; the sections come in order. */
  @Test
  void runAndCheckConfigGroupTheirFlagsUnderSectionHeadings() {
    for (String command : List.of("run", "check-config")) {
      List<String> lines = Cli.run(Map.of(), command, "--help").out().lines().toList();
      int previous = -1;
      for (FlagHelp.Section section : FlagHelp.Section.values()) {
        int heading = lines.indexOf(section.heading + ":");
        assertThat(heading)
            .as("%s: %s after the one before", command, section)
            .isGreaterThan(previous);
        previous = heading;
      }
      int help = lines.indexOf("Help:");
      assertThat(help).as(command).isGreaterThan(previous);
      assertThat(lines.get(help + 1)).contains("--help");

      for (Flag f : Flag.values()) {
        List<Integer> at = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
          if (lines.get(i).startsWith("      " + f.option() + "=")) {
            at.add(i);
          }
        }
        assertThat(at).as("%s lists %s once", command, f.option()).hasSize(1);
        assertThat(sectionAbove(lines, at.get(0)))
            .as("%s: the section of %s", command, f.option())
            .isEqualTo(FlagHelp.section(f).heading);
      }
    }
  }

  private static String sectionAbove(List<String> lines, int index) {
    for (int i = index; i >= 0; i--) {
      String l = lines.get(i);
      if (!l.isEmpty() && !l.startsWith(" ") && l.endsWith(":")) {
        return l.substring(0, l.length() - 1);
      }
    }
    return null;
  }

  /** Every command's help ends with examples, each one a line of its own (none wrapped). */
  @Test
  void everyCommandsHelpEndsWithExamples() {
    for (String[] args :
        new String[][] {
          {"--help"},
          {"run", "--help"},
          {"check-config", "--help"},
          {"status", "--help"},
          {"relay", "--help"},
          {"version", "--help"}
        }) {
      Cli.Result r = Cli.run(Map.of(), args);
      assertThat(r.status()).as(List.of(args).toString()).isZero();
      List<String> lines = r.out().lines().toList();
      int examples = lines.indexOf("Examples:");
      assertThat(examples).as(List.of(args).toString()).isNotNegative();
      List<String> after = lines.subList(examples + 1, lines.size());
      assertThat(after).as(List.of(args).toString()).isNotEmpty().allMatch(l -> l.startsWith("  "));
      String command = args.length == 1 ? "sluice " : "sluice " + args[0];
      assertThat(after).as(List.of(args).toString()).anyMatch(l -> l.contains(command));
    }
  }

  @Test
  void checkConfigTakesTheSameFlags() {
    String help = Cli.run(Map.of(), "check-config", "--help").out();

    for (Flag f : Flag.values()) {
      assertThat(help).contains(f.option());
    }
  }

  @Test
  void topLevelHelpAndVersion() {
    Cli.Result help = Cli.run(Map.of(), "--help");
    Cli.Result version = Cli.run(Map.of(), "--version");

    assertThat(help.status()).isZero();
    assertThat(help.out()).contains("run").contains("check-config");
    assertThat(version.status()).isZero();
    assertThat(version.out()).startsWith("sluice ");
  }

  @Test
  void noCommandShowsUsageOnStderrWithStatus2() {
    Cli.Result r = Cli.run(Map.of());

    assertThat(r.status()).isEqualTo(2);
    assertThat(r.err()).contains("Usage: sluice");
    assertThat(r.out()).isEmpty();
  }
}
