package dev.sluice.server;

import dev.sluice.config.ConfigException;
import dev.sluice.error.SafeErrors;
import dev.sluice.error.SqlState;
import dev.sluice.protocol.Frame;
import dev.sluice.protocol.FrontendType;
import dev.sluice.protocol.Severity;
import dev.sluice.protocol.backend.CommandComplete;
import dev.sluice.protocol.backend.ErrorResponse;
import dev.sluice.protocol.backend.ReadyForQuery;
import dev.sluice.protocol.backend.TextRows;
import dev.sluice.protocol.frontend.Query;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.BiConsumer;

/**
 * The admin console, PgBouncer's way: a client that logs in to the virtual database {@value
 * #DATABASE} (as the upstream's role) talks to Sluice itself. Simple queries only:
 *
 * <pre>
 *   SHOW POOLS | CLIENTS | SERVERS | STATS | CONFIG | CACHE | VERSION | HELP
 *   PAUSE | RESUME | RECONNECT | RELOAD | SHUTDOWN
 * </pre>
 *
 * PAUSE answers once no backend is in use (or after {@link AdminActions#PAUSE_WAIT}, with a
 * warning); messages that arrive meanwhile are held and answered in order after it.
 *
 * <p>Column names follow PgBouncer's where they mean the same ({@code cl_active}, {@code sv_idle},
 * ...). Anything else is an error for that statement; the console stays usable.
 */
final class AdminConsole {
  static final String DATABASE = "sluice";

  private final ProxyContext ctx;
  private final Channel channel;
  private final AdminViews views;
  private final AdminActions actions;
  private final String who;

  /** Messages that arrived while a PAUSE was being answered; handled in order after it. */
  private final ArrayDeque<Frame> held = new ArrayDeque<>();

  private boolean busy;
  private boolean closed;

  AdminConsole(ProxyContext ctx, Channel channel, String connectionId) {
    this.ctx = ctx;
    this.channel = channel;
    this.views = new AdminViews(ctx);
    this.actions = new AdminActions(ctx);
    this.who = "console " + connectionId;
  }

  /** The client left: messages still held are dropped. */
  void close() {
    closed = true;
    Frame f;
    while ((f = held.poll()) != null) {
      f.release();
    }
  }

  /** The ParameterStatus a console client is told at login. */
  static Map<String, String> parameters() {
    return Map.of(
        "server_version", "15.0 (Sluice console)",
        "server_encoding", "UTF8",
        "client_encoding", "UTF8",
        "DateStyle", "ISO, MDY",
        "integer_datetimes", "on",
        "standard_conforming_strings", "on");
  }

  void onMessage(Frame f) {
    if (busy) {
      held.add(f);
      return;
    }
    ByteBuf out = channel.alloc().buffer(512);
    try {
      if (f.type() == FrontendType.QUERY.code()) {
        String command = normalize(Query.decode(f.body()).sql());
        if (command.equals("PAUSE") || command.equals("RELOAD")) {
          out.release();
          if (command.equals("PAUSE")) {
            later(actions.pause(AdminActions.PAUSE_WAIT, who), AdminConsole::paused);
          } else {
            later(actions.reloadOffLoop(who), AdminConsole::reloaded);
          }
          return;
        }
        answer(command, out);
      } else if (f.type() != FrontendType.SYNC.code() && f.type() != FrontendType.FLUSH.code()) {
        error(out, SqlState.FEATURE_NOT_SUPPORTED, "the Sluice console takes simple queries only");
      }
      if (f.type() != FrontendType.FLUSH.code()) {
        ReadyForQuery.IDLE.encode(out);
      }
    } catch (RuntimeException e) {
      out.release();
      throw e;
    } finally {
      f.release();
    }
    channel.writeAndFlush(out, channel.voidPromise());
  }

  private static String normalize(String sql) {
    return sql.strip()
        .replaceAll(";+$", "")
        .strip()
        .replaceAll("\\s+", " ")
        .toUpperCase(Locale.ROOT);
  }

  /**
   * Answers when {@code work} completes (PAUSE waits for backends, RELOAD reads files: neither on
   * this event loop); messages that arrive meanwhile wait in {@link #held} and are answered after.
   */
  private <T> void later(CompletableFuture<T> work, BiConsumer<T, ByteBuf> render) {
    busy = true;
    work.whenComplete(
        (r, e) ->
            channel
                .eventLoop()
                .execute(
                    () -> {
                      if (closed) {
                        return;
                      }
                      ByteBuf out = channel.alloc().buffer(256);
                      try {
                        if (e != null) {
                          failed(out, e);
                        } else {
                          render.accept(r, out);
                        }
                        ReadyForQuery.IDLE.encode(out);
                      } catch (RuntimeException x) {
                        out.release();
                        throw x;
                      }
                      channel.writeAndFlush(out, channel.voidPromise());
                      busy = false;
                      Frame next;
                      while (!busy && (next = held.poll()) != null) {
                        onMessage(next);
                      }
                    }));
  }

  private static void failed(ByteBuf out, Throwable e) {
    Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
    if (cause instanceof ConfigException) {
      error(out, SqlState.INVALID_PARAMETER_VALUE, cause.getMessage());
    } else {
      error(out, SqlState.INTERNAL_ERROR, "failed: " + SafeErrors.describe(cause));
    }
  }

  private static void paused(Map<String, Object> r, ByteBuf out) {
    if (!Boolean.TRUE.equals(r.get("paused"))) {
      error(
          out,
          SqlState.OBJECT_NOT_IN_PREREQUISITE_STATE,
          "PAUSE was ended by a RESUME before every backend was released");
      return;
    }
    if (!Boolean.TRUE.equals(r.get("quiet"))) {
      ErrorResponse.of(
              Severity.WARNING,
              "01000",
              "PAUSE is in effect but "
                  + r.get("backendsInUse")
                  + " backends are still in use after "
                  + AdminActions.PAUSE_WAIT.toSeconds()
                  + " s",
              null,
              null)
          .encodeAsNotice(out);
    }
    new CommandComplete("PAUSE").encode(out);
  }

  /** RELOAD answers with what changed: one row per setting, and whether it took effect. */
  private static void reloaded(Map<String, Object> r, ByteBuf out) {
    List<List<String>> rows = new ArrayList<>();
    for (Object change : (List<?>) r.get("applied")) {
      rows.add(List.of(String.valueOf(change), "applied"));
    }
    for (Object change : (List<?>) r.get("needsRestart")) {
      rows.add(List.of(String.valueOf(change), "needs a restart"));
    }
    table(out, "RELOAD", List.of("change", "outcome"), rows);
  }

  private void answer(String command, ByteBuf out) {
    switch (command) {
      case "SHOW POOLS" -> pools(out);
      case "SHOW CLIENTS" -> clients(out);
      case "SHOW SERVERS" -> servers(out);
      case "SHOW STATS" -> stats(out);
      case "SHOW CONFIG" -> config(out);
      case "SHOW CACHE" -> cache(out);
      case "SHOW VERSION" ->
          table(out, "SHOW", List.of("version"), List.of(List.of("Sluice " + version())));
      case "SHOW HELP", "HELP" ->
          table(
              out,
              "SHOW",
              List.of("command"),
              List.of(
                  List.of("SHOW POOLS"),
                  List.of("SHOW CLIENTS"),
                  List.of("SHOW SERVERS"),
                  List.of("SHOW STATS"),
                  List.of("SHOW CONFIG"),
                  List.of("SHOW CACHE"),
                  List.of("SHOW VERSION"),
                  List.of("PAUSE"),
                  List.of("RESUME"),
                  List.of("RECONNECT"),
                  List.of("RELOAD"),
                  List.of("SHUTDOWN")));
      case "RESUME", "RECONNECT", "SHUTDOWN" -> {
        switch (command) {
          case "RESUME" -> actions.resume(who);
          case "RECONNECT" -> actions.reconnect(who);
          default -> actions.shutdown(who);
        }
        new CommandComplete(command).encode(out);
      }
      case "" -> out.writeByte('I').writeInt(4); // EmptyQueryResponse
      default -> error(out, SqlState.SYNTAX_ERROR, "unknown console command: try SHOW HELP");
    }
  }

  private void pools(ByteBuf out) {
    List<Map<String, Object>> clients = views.clients(true);
    List<List<String>> rows = new ArrayList<>();
    for (Map<String, Object> p : views.pools()) {
      String db = String.valueOf(p.get("database"));
      String user = String.valueOf(p.get("user"));
      long clActive =
          clients.stream()
              .filter(c -> db.equals(c.get("database")) && user.equals(c.get("user")))
              .count();
      rows.add(
          List.of(
              db,
              user,
              Long.toString(clActive),
              String.valueOf(p.get("waiting")),
              String.valueOf(p.get("active")),
              String.valueOf(p.get("idle")),
              String.valueOf(p.get("connecting")),
              String.valueOf(p.get("maxSize")),
              ctx.config().poolMode().flagValue()));
    }
    table(
        out,
        "SHOW",
        List.of(
            "database",
            "user",
            "cl_active",
            "cl_waiting",
            "sv_active",
            "sv_idle",
            "sv_login",
            "pool_size",
            "pool_mode"),
        rows);
  }

  private void clients(ByteBuf out) {
    List<List<String>> rows = new ArrayList<>();
    for (Map<String, Object> c : views.clients(true)) {
      rows.add(
          nullable(
              "C",
              c.get("user"),
              c.get("database"),
              c.get("state"),
              c.get("remote"),
              c.get("ageMillis"),
              c.get("backend"),
              c.get("pinned"),
              c.get("id")));
    }
    table(
        out,
        "SHOW",
        List.of("type", "user", "database", "state", "addr", "age_ms", "link", "pinned", "id"),
        rows);
  }

  private void servers(ByteBuf out) {
    List<List<String>> rows = new ArrayList<>();
    for (Map<String, Object> s : views.servers()) {
      String[] pool = String.valueOf(s.get("pool")).split("/", 2);
      rows.add(
          nullable(
              "S",
              pool.length > 1 ? pool[1] : "",
              pool[0],
              s.get("state"),
              s.get("remote"),
              s.get("preparedStatements"),
              s.get("id")));
    }
    table(
        out,
        "SHOW",
        List.of("type", "user", "database", "state", "addr", "prepared_statements", "id"),
        rows);
  }

  private void stats(ByteBuf out) {
    List<List<String>> rows = new ArrayList<>();
    var s = ctx.stats();
    rows.add(List.of("clients", Integer.toString(ctx.clientCount())));
    rows.add(List.of("clients_logging_in", Integer.toString(ctx.pendingLogins().size())));
    rows.add(List.of("backend_logins", Long.toString(s.backendLogins.sum())));
    rows.add(List.of("connect_attempts", Long.toString(ctx.connectGuard().attempts())));
    rows.add(List.of("circuit", ctx.connectGuard().state()));
    for (var c : ctx.connectGuard().circuits()) {
      rows.add(List.of("circuit " + c.host(), c.state()));
    }
    rows.add(List.of("replays", Long.toString(s.replays.sum())));
    rows.add(List.of("plan_retries", Long.toString(s.retries.sum())));
    rows.add(List.of("pins", Long.toString(s.pins.sum())));
    rows.add(List.of("rejections", Long.toString(s.rejections.sum())));
    rows.add(List.of("client_parses", Long.toString(s.clientParses.sum())));
    rows.add(List.of("server_parses", Long.toString(s.serverParses.sum())));
    rows.add(List.of("statement_evictions", Long.toString(s.evictions.sum())));
    rows.add(List.of("failed_idle_checks", Long.toString(s.failedChecks.sum())));
    table(out, "SHOW", List.of("stat", "value"), rows);
  }

  private void config(ByteBuf out) {
    List<List<String>> rows = new ArrayList<>();
    views.config().forEach((k, v) -> rows.add(nullable(k, v)));
    table(out, "SHOW", List.of("key", "value"), rows);
  }

  /**
   * One row per figure ({@code name}, {@code value}); the decisions as {@code decision.<label>}.
   */
  private void cache(ByteBuf out) {
    List<List<String>> rows = new ArrayList<>();
    views
        .cache()
        .forEach(
            (k, v) -> {
              if (v instanceof Map<?, ?> m) {
                String prefix = k.equals("decisions") ? "decision." : k + ".";
                m.forEach((dk, dv) -> rows.add(nullable(prefix + dk, dv)));
              } else {
                rows.add(nullable(k, v));
              }
            });
    table(out, "SHOW", List.of("name", "value"), rows);
  }

  private static List<String> nullable(Object... values) {
    List<String> out = new ArrayList<>(values.length);
    for (Object v : values) {
      out.add(v == null ? null : String.valueOf(v));
    }
    return out;
  }

  private static void table(
      ByteBuf out, String tag, List<String> columns, List<List<String>> rows) {
    TextRows.rowDescription(out, columns);
    for (List<String> r : rows) {
      TextRows.dataRow(out, r);
    }
    new CommandComplete(tag).encode(out);
  }

  private static void error(ByteBuf out, SqlState state, String message) {
    ErrorResponse.of(Severity.ERROR, state.code(), message, null, null).encode(out);
  }

  private static String version() {
    Package p = AdminConsole.class.getPackage();
    String v = p == null ? null : p.getImplementationVersion();
    return v == null ? "(development build)" : v;
  }
}
