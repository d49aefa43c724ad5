package dev.sluice.server;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Startup settings (lower-case name → value, as a client's startup packet gave them) that some
 * backend of one pool accepted, each with the value as the server spelled it back, so that a login
 * with only these needs no backend and is shown the server's own spelling. At most {@value
 * #CHECKED_SETTINGS}, least recently used dropped first. Thread-safe.
 */
final class CheckedSettings {
  private static final int CHECKED_SETTINGS = 10_000;

  private final Cache<String, String> checked =
      Caffeine.newBuilder().maximumSize(CHECKED_SETTINGS).build();

  /** Those of {@code settings} no backend of this pool has accepted yet. */
  Map<String, String> unchecked(Map<String, String> settings) {
    Map<String, String> out = new LinkedHashMap<>();
    settings.forEach(
        (k, v) -> {
          if (checked.getIfPresent(key(k, v)) == null) {
            out.put(k, v);
          }
        });
    return out;
  }

  /** Records settings a backend of this pool accepted, each as the server spelled it back. */
  void remember(Map<String, String> settings, List<String> asServerSaidIt) {
    int i = 0;
    for (Map.Entry<String, String> e : settings.entrySet()) {
      String spelled = i < asServerSaidIt.size() ? asServerSaidIt.get(i) : null;
      checked.put(key(e.getKey(), e.getValue()), spelled == null ? e.getValue() : spelled);
      i++;
    }
  }

  /**
   * How the server reports {@code value} of setting {@code name} (lower case), as a backend's
   * {@code set_config} returned it; {@code value} itself when no backend was asked.
   */
  String serverValue(String name, String value) {
    String spelled = checked.getIfPresent(key(name, value));
    return spelled == null ? value : spelled;
  }

  private static String key(String name, String value) {
    return name + '\u0000' + value;
  }
}
