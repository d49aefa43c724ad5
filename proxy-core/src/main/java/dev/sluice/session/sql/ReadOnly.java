package dev.sluice.session.sql;

import java.util.List;
import java.util.Set;

/**
 * Whether SQL text certainly changes nothing when it runs, so that running it a second time (after
 * its backend died before answering) cannot be told from running it once. Deliberately narrow: one
 * statement, {@code SELECT}, {@code VALUES}, {@code TABLE} or {@code SHOW}, without {@code INTO},
 * without a locking clause ({@code FOR UPDATE/SHARE}), without {@code WITH} (which may hide a
 * data-modifying statement), and calling no function but common built-ins known to change nothing
 * ({@link #SAFE_FUNCTIONS}); a user-defined function may write, {@code nextval} does. Anything else
 * is "not read-only", which only means it is not sent again.
 */
public final class ReadOnly {
  /** Built-in functions that read and compute only. */
  static final Set<String> SAFE_FUNCTIONS =
      Set.of(
          "count",
          "sum",
          "avg",
          "min",
          "max",
          "bool_and",
          "bool_or",
          "every",
          "string_agg",
          "array_agg",
          "json_agg",
          "jsonb_agg",
          "coalesce",
          "nullif",
          "greatest",
          "least",
          "lower",
          "upper",
          "length",
          "char_length",
          "octet_length",
          "substr",
          "substring",
          "trim",
          "btrim",
          "ltrim",
          "rtrim",
          "replace",
          "concat",
          "concat_ws",
          "left",
          "right",
          "position",
          "strpos",
          "split_part",
          "abs",
          "round",
          "ceil",
          "ceiling",
          "floor",
          "trunc",
          "mod",
          "power",
          "sqrt",
          "now",
          "current_timestamp",
          "current_date",
          "date_trunc",
          "date_part",
          "extract",
          "to_char",
          "to_date",
          "to_timestamp",
          "age",
          "cast",
          "exists",
          "any",
          "all",
          "in",
          "array_length",
          "cardinality",
          "unnest",
          "row_number",
          "rank",
          "dense_rank",
          "lag",
          "lead",
          "first_value",
          "last_value",
          "jsonb_build_object",
          "json_build_object",
          "to_json",
          "to_jsonb",
          "md5",
          "encode",
          "decode",
          "format",
          "version",
          "current_setting",
          "pg_backend_pid",
          "current_database",
          "current_schema",
          "pg_is_in_recovery",
          "generate_series",
          "pg_sleep",
          "inet_server_port",
          "inet_server_addr");

  private static final Set<String> LEADING = Set.of("select", "values", "table", "show");

  private ReadOnly() {}

  public static boolean test(String sql) {
    List<List<SqlToken>> statements = SqlLexer.statements(sql);
    if (statements.size() != 1) {
      return false;
    }
    List<SqlToken> t = statements.get(0);
    if (t.isEmpty() || t.get(0).kind() != SqlToken.Kind.IDENTIFIER || t.get(0).quoted()) {
      return false;
    }
    if (!LEADING.contains(t.get(0).text())) {
      return false;
    }
    for (int i = 0; i < t.size(); i++) {
      SqlToken k = t.get(i);
      if (k.isWord("into") || k.isWord("for") || k.isWord("with")) {
        return false;
      }
      boolean call =
          k.kind() == SqlToken.Kind.IDENTIFIER
              && i + 1 < t.size()
              && t.get(i + 1).isPunctuation("(");
      if (call && (k.quoted() || !(SAFE_FUNCTIONS.contains(k.text()) || isTypeOrKeyword(k)))) {
        return false;
      }
    }
    return true;
  }

  /** Words followed by '(' that are not calls: keywords and type modifiers. */
  private static boolean isTypeOrKeyword(SqlToken k) {
    return switch (k.text()) {
      case "select",
          "from",
          "where",
          "and",
          "or",
          "not",
          "on",
          "using",
          "values",
          "over",
          "filter",
          "partition",
          "numeric",
          "decimal",
          "varchar",
          "char",
          "character",
          "timestamp",
          "time",
          "interval",
          "bit",
          "varbit",
          "float",
          "join",
          "as",
          "case",
          "when",
          "then",
          "else",
          "row",
          "array" ->
          true;
      default -> false;
    };
  }
}
