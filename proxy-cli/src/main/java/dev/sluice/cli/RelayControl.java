package dev.sluice.cli;

import dev.sluice.config.ConfigException;
import dev.sluice.config.Durations;
import dev.sluice.relay.Direction;
import dev.sluice.relay.FaultRelay;
import dev.sluice.relay.Faults;
import dev.sluice.relay.RelayStats;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * The commands {@code sluice relay} reads, one per line, to switch faults while it runs. Each
 * answers one line: {@code ok: ...} with the faults now in effect, or {@code error: ...}.
 */
final class RelayControl {
  static final String HELP =
      "commands: latency DURATION [up|down|both]; bandwidth SIZE|off [up|down|both] (per second);"
          + " blackhole on|off [up|down|both]; close-after SIZE|off [up|down|both]; refuse on|off;"
          + " reset; status; help; quit";

  private static final long MAX_SIZE = 1L << 40;

  private final FaultRelay relay;

  RelayControl(FaultRelay relay) {
    this.relay = relay;
  }

  /** Whether {@code line} asks to stop. */
  static boolean isQuit(String line) {
    return line.strip().equalsIgnoreCase("quit");
  }

  /** Carries out one command line and returns its answer; a blank line answers null. */
  String execute(String line) {
    List<String> words = List.of(line.strip().split("\\s+"));
    if (words.get(0).isEmpty()) {
      return null;
    }
    try {
      return "ok: " + run(words.get(0).toLowerCase(Locale.ROOT), words.subList(1, words.size()));
    } catch (ConfigException | IllegalArgumentException e) {
      return "error: " + e.getMessage();
    }
  }

  private String run(String command, List<String> args) {
    return switch (command) {
      case "latency" -> {
        Duration d = duration(value(args));
        yield change(args, f -> f.withLatency(d));
      }
      case "bandwidth" -> {
        long perSecond = sizeOrOff("bandwidth", value(args), 0);
        yield change(args, f -> f.withBandwidth(perSecond));
      }
      case "blackhole" -> {
        boolean on = onOff(value(args));
        yield change(args, f -> f.withBlackHole(on));
      }
      case "close-after" -> {
        long bytes = sizeOrOff("close-after", value(args), -1);
        yield change(args, f -> f.withCloseAfter(bytes));
      }
      case "refuse" -> {
        arguments(args, 1, 1);
        relay.refuse(onOff(args.get(0)));
        yield faults();
      }
      case "reset" -> {
        arguments(args, 0, 0);
        int n = relay.resetAll();
        yield "reset " + n + (n == 1 ? " connection" : " connections");
      }
      case "status" -> {
        arguments(args, 0, 0);
        RelayStats s = relay.stats();
        yield String.format(
            "open=%d accepted=%d refused=%d resets=%d bytes up=%d down=%d; %s",
            s.open(),
            s.accepted(),
            s.refused(),
            s.resets(),
            s.bytesUpstream(),
            s.bytesDownstream(),
            faults());
      }
      case "help" -> HELP;
      default -> throw new IllegalArgumentException("unknown command '" + command + "' (try help)");
    };
  }

  /** The value of a fault command: its first argument, a direction may follow. */
  private static String value(List<String> args) {
    arguments(args, 1, 2);
    return args.get(0);
  }

  /** Applies {@code change} to the direction named after the value, or to both. */
  private String change(List<String> args, UnaryOperator<Faults> change) {
    Set<Direction> dirs = args.size() > 1 ? Direction.parse(args.get(1)) : Direction.BOTH;
    if (dirs == null) {
      throw new IllegalArgumentException("expected up, down or both, not '" + args.get(1) + "'");
    }
    relay.update(dirs, change);
    return faults();
  }

  private String faults() {
    return "up: "
        + relay.faults(Direction.UPSTREAM)
        + "; down: "
        + relay.faults(Direction.DOWNSTREAM)
        + "; refuse "
        + (relay.refusing() ? "on" : "off");
  }

  private static void arguments(List<String> args, int min, int max) {
    if (args.size() < min || args.size() > max) {
      throw new IllegalArgumentException(
          (args.size() < min ? "missing argument" : "too many arguments") + " (try help)");
    }
  }

  private static Duration duration(String text) {
    return text.equalsIgnoreCase("off") ? Duration.ZERO : Durations.parse("latency", text);
  }

  private static long sizeOrOff(String key, String text, long off) {
    return text.equalsIgnoreCase("off") ? off : FlagValues.size(key, text, 0, MAX_SIZE);
  }

  private static boolean onOff(String text) {
    return switch (text.toLowerCase(Locale.ROOT)) {
      case "on" -> true;
      case "off" -> false;
      default -> throw new IllegalArgumentException("expected on or off, not '" + text + "'");
    };
  }
}
