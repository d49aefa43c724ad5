package dev.sluice.config;

import java.util.Locale;
import java.util.Map;

/**
 * libpq's {@code target_session_attrs}: which of several upstream hosts a backend connection may
 * use. Hosts are tried in order; a host whose server does not fit is skipped. The facts come from
 * what PostgreSQL (14 and later) reports at login: {@code in_hot_standby} (the same fact as {@code
 * pg_is_in_recovery()}) and {@code default_transaction_read_only}. A server that reports neither
 * counts as a writable primary.
 */
public enum TargetSessionAttrs {
  ANY,
  READ_WRITE,
  READ_ONLY,
  PRIMARY,
  STANDBY,
  /** Standbys first; when no host is one, any host. */
  PREFER_STANDBY;

  /** From the upstream URL's parameters; {@code any} when absent. */
  public static TargetSessionAttrs of(Upstream upstream) {
    String v = upstream.parameters().get("target_session_attrs");
    return v == null ? ANY : valueOf(v.strip().toUpperCase(Locale.ROOT).replace('-', '_'));
  }

  public String flagValue() {
    return name().toLowerCase(Locale.ROOT).replace('_', '-');
  }

  /**
   * Whether a server that reported {@code report} at login fits. {@code strict} is the first pass
   * of {@link #PREFER_STANDBY}, which takes standbys only; its second pass takes any.
   */
  public boolean accepts(Map<String, String> report, boolean strict) {
    boolean standby = on(report.get("in_hot_standby"));
    boolean readOnly = standby || on(report.get("default_transaction_read_only"));
    return switch (this) {
      case ANY -> true;
      case READ_WRITE -> !readOnly;
      case READ_ONLY -> readOnly;
      case PRIMARY -> !standby;
      case STANDBY -> standby;
      case PREFER_STANDBY -> !strict || standby;
    };
  }

  /** What a server that fits is called, for errors: "a read-write server". */
  public String wanted() {
    return switch (this) {
      case ANY -> "any server";
      case READ_WRITE -> "a read-write server";
      case READ_ONLY -> "a read-only server";
      case PRIMARY -> "a primary";
      case STANDBY, PREFER_STANDBY -> "a standby";
    };
  }

  private static boolean on(String v) {
    return v != null && v.strip().equalsIgnoreCase("on");
  }
}
