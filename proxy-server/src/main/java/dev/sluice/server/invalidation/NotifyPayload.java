package dev.sluice.server.invalidation;

import dev.sluice.session.sql.SqlLexer;
import dev.sluice.session.sql.SqlToken;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Reads a NOTIFY payload as table names written as in SQL: {@code orders}, {@code public.orders},
 * {@code "Sales"."Q1"}, or several separated by commas ({@code a, public.b}). Unquoted names fold
 * to lower case and quoted ones keep their case, by the same lexer that reads client statements, so
 * {@code Orders} and {@code "Orders"} mean what they would in a query. A three-part name keeps its
 * last two parts.
 *
 * <p>An empty payload, or one that is not a list of names, yields nothing: the caller then
 * invalidates the whole database, which is what a sender that names no table means, and the safe
 * reading of anything else.
 */
final class NotifyPayload {
  private static final int MAX_PARTS = 3;

  private NotifyPayload() {}

  /** The tables named, {@code schema.name} or {@code name}; empty for "the whole database". */
  static Optional<List<String>> tables(String payload) {
    if (payload == null || payload.isBlank()) {
      return Optional.empty();
    }
    SqlLexer lexer = new SqlLexer(payload);
    List<String> tables = new ArrayList<>();
    List<String> parts = new ArrayList<>();
    boolean expectName = true;
    while (lexer.next()) {
      if (expectName) {
        String name = lexer.kind() == SqlToken.Kind.IDENTIFIER ? lexer.text() : "";
        if (name.isEmpty()) {
          return Optional.empty();
        }
        parts.add(name);
        expectName = false;
      } else if (lexer.isPunctuation('.') && parts.size() < MAX_PARTS) {
        expectName = true;
      } else if (lexer.isPunctuation(',')) {
        tables.add(join(parts));
        parts.clear();
        expectName = true;
      } else {
        return Optional.empty();
      }
    }
    if (expectName || lexer.unterminated()) {
      return Optional.empty();
    }
    tables.add(join(parts));
    return Optional.of(List.copyOf(tables));
  }

  /**
   * A channel name as written in {@code LISTEN name}: folded unless quoted.
   *
   * @throws IllegalArgumentException when it is not one identifier
   */
  static String channel(String text) {
    SqlLexer lexer = new SqlLexer(text == null ? "" : text);
    String name = null;
    int tokens = 0;
    while (lexer.next()) {
      tokens++;
      name = lexer.kind() == SqlToken.Kind.IDENTIFIER ? lexer.text() : null;
    }
    if (tokens != 1 || name == null || name.isEmpty() || lexer.unterminated()) {
      throw new IllegalArgumentException(
          "a NOTIFY channel is one name, such as sluice_cache or \"CacheEvents\": " + text);
    }
    return name;
  }

  /** {@code "name"}, with inner quotes doubled: safe to splice into LISTEN. */
  static String quote(String identifier) {
    return '"' + identifier.replace("\"", "\"\"") + '"';
  }

  private static String join(List<String> parts) {
    int n = parts.size();
    return n == 1 ? parts.get(0) : parts.get(n - 2) + "." + parts.get(n - 1);
  }
}
