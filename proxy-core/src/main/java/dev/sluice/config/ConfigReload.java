package dev.sluice.config;

import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * What a reload may change in a running proxy. Settings read afresh on each use (pool limits and
 * timeouts, client admission) change at once; the rest (addresses, the upstream, TLS, threads,
 * memory budgets) are fixed when the server starts, so a changed value is reported as needing a
 * restart and the running value is kept.
 *
 * <p>The comparison walks the record's components, so a setting added to {@link ProxyConfig} is
 * "needs a restart" until someone decides otherwise here: never silently ignored.
 *
 * @param config the configuration to run with from now on
 * @param applied each changed setting that takes effect now, as {@code name: old -> new}
 * @param needsRestart each changed setting that keeps its running value until a restart
 */
public record ConfigReload(ProxyConfig config, List<String> applied, List<String> needsRestart) {
  /** The settings a running proxy reads on each use. */
  static final Set<String> RELOADABLE =
      Set.of(
          "poolSize",
          "minIdle",
          "acquireTimeout",
          "maxClientConnections",
          "serverLifetime",
          "serverIdleTimeout",
          "clientLoginTimeout",
          "serverCheckDelay",
          "shutdownTimeout",
          "allowDatabases",
          "adminUsers",
          "maxPools",
          "queryTimeout",
          "idleTransactionTimeout");

  /** Settings whose values are never shown, only that they changed. */
  private static final Set<String> SECRET = Set.of("adminToken");

  public ConfigReload {
    applied = List.copyOf(applied);
    needsRestart = List.copyOf(needsRestart);
  }

  /**
   * Merges {@code next} into {@code running}: reloadable settings from {@code next}, all others
   * from {@code running}.
   *
   * @throws ConfigException when the merged settings do not fit together (say a new {@code
   *     min-idle} above the running pool size)
   */
  public static ConfigReload plan(ProxyConfig running, ProxyConfig next) {
    RecordComponent[] components = ProxyConfig.class.getRecordComponents();
    Object[] merged = new Object[components.length];
    Class<?>[] types = new Class<?>[components.length];
    List<String> applied = new ArrayList<>();
    List<String> restart = new ArrayList<>();
    for (int i = 0; i < components.length; i++) {
      RecordComponent c = components[i];
      types[i] = c.getType();
      Object was = read(c, running);
      Object now = read(c, next);
      merged[i] = was;
      if (Objects.equals(was, now)) {
        continue;
      }
      String change =
          SECRET.contains(c.getName())
              ? c.getName() + " changed"
              : c.getName() + ": " + was + " -> " + now;
      if (RELOADABLE.contains(c.getName())) {
        merged[i] = now;
        applied.add(change);
      } else {
        restart.add(change);
      }
    }
    return new ConfigReload(construct(types, merged), applied, restart);
  }

  /** The outcome as a map for JSON and the console. */
  public Map<String, Object> summary() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("applied", applied);
    m.put("needsRestart", needsRestart);
    return m;
  }

  private static Object read(RecordComponent c, ProxyConfig config) {
    try {
      return c.getAccessor().invoke(config);
    } catch (IllegalAccessException | InvocationTargetException e) {
      throw new IllegalStateException("cannot read " + c.getName(), e);
    }
  }

  private static ProxyConfig construct(Class<?>[] types, Object[] values) {
    try {
      Constructor<ProxyConfig> canonical = ProxyConfig.class.getDeclaredConstructor(types);
      return canonical.newInstance(values);
    } catch (InvocationTargetException e) {
      if (e.getCause() instanceof ConfigException ce) {
        throw ce;
      }
      throw new IllegalStateException("cannot build the reloaded configuration", e.getCause());
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("cannot build the reloaded configuration", e);
    }
  }
}
