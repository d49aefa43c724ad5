package dev.sluice.cli;

import dev.sluice.config.ProxyConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * What the flags and environment resolved to: the proxy's configuration plus the settings that only
 * concern the process (the log level).
 */
record CliSettings(ProxyConfig config, LogLevel logLevel) {

  /**
   * The effective settings as {@code key = value} lines in flag order, for {@code check-config}.
   * Upstream parameters follow the upstream line; any whose name mentions a password is masked.
   */
  List<String> lines() {
    List<String> lines = new ArrayList<>();
    for (Flag f : Flag.values()) {
      lines.add(line(f.flagName(), f.render(this)));
      if (f == Flag.UPSTREAM) {
        Map<String, String> parameters = new TreeMap<>(config.upstream().parameters());
        parameters.forEach(
            (name, value) ->
                lines.add(
                    line(
                        "upstream." + name,
                        name.toLowerCase(Locale.ROOT).contains("password") ? "****" : value)));
      }
    }
    return lines;
  }

  private static String line(String key, String value) {
    return (key + " = " + value).strip();
  }
}
