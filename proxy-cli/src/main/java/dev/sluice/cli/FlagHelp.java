package dev.sluice.cli;

import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Help;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.UsageMessageSpec;

/**
 * The help of {@code run} and {@code check-config}: their many flags in sections (clients, the
 * upstream and pools, sessions, TLS, the admin port, the process), each under a heading, instead of
 * one long list. Only the help text is grouped; parsing is Picocli's plain option list.
 */
final class FlagHelp {
  /** The sections, in the order help shows them. */
  enum Section {
    CONFIG("Configuration"),
    CLIENTS("Clients"),
    UPSTREAM("Upstream and pools"),
    SESSIONS("Sessions and statements"),
    TLS("TLS from clients"),
    CACHE("Query result cache"),
    ADMIN("Admin port and console"),
    PROCESS("Process and logs");

    final String heading;

    Section(String heading) {
      this.heading = heading;
    }
  }

  private FlagHelp() {}

  /** Where {@code f} is shown; a new flag must pick its section here to compile. */
  static Section section(Flag f) {
    return switch (f) {
      case CONFIG -> Section.CONFIG;
      case LISTEN,
          MAX_CLIENT_CONNECTIONS,
          CLIENT_AUTH,
          CLIENT_LOGIN_TIMEOUT,
          MAX_PENDING_LOGINS,
          LOGIN_FAILURE_LIMIT,
          LOGIN_FAILURE_WINDOW,
          ALLOW_DATABASES,
          MAX_MESSAGE_SIZE,
          MAX_MESSAGE_MEMORY ->
          Section.CLIENTS;
      case UPSTREAM,
          POOL_MODE,
          POOL_SIZE,
          MIN_IDLE,
          MAX_POOLS,
          ACQUIRE_TIMEOUT,
          SERVER_LIFETIME,
          SERVER_IDLE_TIMEOUT,
          SERVER_CHECK_DELAY,
          SERVER_RESET_QUERY,
          CONNECT_TIMEOUT,
          CONNECT_RETRIES,
          TCP_KEEPALIVE_IDLE,
          TCP_USER_TIMEOUT ->
          Section.UPSTREAM;
      case SESSION_STATE, MAX_PREPARED_STATEMENTS, QUERY_TIMEOUT, IDLE_TRANSACTION_TIMEOUT ->
          Section.SESSIONS;
      case TLS_MODE, TLS_CERT, TLS_KEY -> Section.TLS;
      case CACHE,
          CACHE_MAX_SIZE,
          CACHE_MAX_ENTRY_SIZE,
          CACHE_MAX_AGE,
          CACHE_STALE_WHILE_REVALIDATE,
          CACHE_INVALIDATION,
          CACHE_INVALIDATION_CHANNEL ->
          Section.CACHE;
      case ADMIN_LISTEN, ADMIN_TOKEN, ADMIN_USERS -> Section.ADMIN;
      case WORKERS, SHUTDOWN_TIMEOUT, LOG_LEVEL, LOG_FORMAT -> Section.PROCESS;
    };
  }

  /** Replaces the command's option list with the sections, then the help options. */
  static void install(UsageMessageSpec usage) {
    usage.sectionMap().put(UsageMessageSpec.SECTION_KEY_OPTION_LIST_HEADING, help -> "");
    usage.sectionMap().put(UsageMessageSpec.SECTION_KEY_OPTION_LIST, FlagHelp::render);
  }

  private static String render(Help help) {
    StringBuilder out = new StringBuilder();
    for (Section s : Section.values()) {
      List<OptionSpec> options = new ArrayList<>();
      for (Flag f : Flag.values()) {
        if (section(f) == s) {
          options.add(help.commandSpec().findOption(f.option()));
        }
      }
      out.append(block(help, s.heading, options));
    }
    List<OptionSpec> others = new ArrayList<>();
    for (OptionSpec o : help.commandSpec().options()) {
      if (o.usageHelp() || o.versionHelp()) {
        others.add(o);
      }
    }
    return out.append(block(help, "Help", others)).toString();
  }

  private static String block(Help help, String heading, List<OptionSpec> options) {
    Help.Layout layout = help.createDefaultLayout();
    Help.IParamLabelRenderer labels = help.createDefaultParamLabelRenderer();
    for (OptionSpec o : options) {
      layout.addOption(o, labels);
    }
    return String.format("%n%s:%n", heading) + layout;
  }
}
