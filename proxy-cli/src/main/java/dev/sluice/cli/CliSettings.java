package dev.sluice.cli;

import dev.sluice.config.ProxyConfig;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * What the flags, environment and config file resolved to: the proxy's configuration plus the
 * settings that only concern the process (logging, the config file's name), and where each value
 * came from.
 *
 * @param configFile the config file as named by {@code --config} or {@code SLUICE_CONFIG}, or null
 * @param origins where each setting came from; a setting missing here has its default
 */
record CliSettings(
    ProxyConfig config,
    LogLevel logLevel,
    LogFormat logFormat,
    String configFile,
    Map<Flag, Origin> origins) {

  CliSettings {
    origins = Collections.unmodifiableMap(origins.isEmpty() ? Map.of() : new EnumMap<>(origins));
  }

  Origin origin(Flag flag) {
    return origins.getOrDefault(flag, Origin.DEFAULT);
  }

  /**
   * The effective settings as {@code key = value (origin)} lines in flag order, for {@code
   * check-config}. Upstream parameters follow the upstream line; any whose name mentions a password
   * is masked.
   */
  List<String> lines() {
    List<String> lines = new ArrayList<>();
    for (Flag f : Flag.values()) {
      lines.add(line(f.flagName(), f.render(this)) + "  (" + origin(f).describe() + ")");
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
