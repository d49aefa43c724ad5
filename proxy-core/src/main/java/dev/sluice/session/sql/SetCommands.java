package dev.sluice.session.sql;

import static dev.sluice.session.sql.StatementRules.punctuation;
import static dev.sluice.session.sql.StatementRules.word;

import java.util.List;
import java.util.Set;

/**
 * {@code SET} and {@code RESET}, following the grammar in the PostgreSQL reference pages:
 *
 * <pre>
 * SET [ SESSION | LOCAL ] name { TO | = } { value | DEFAULT }     SET ... name FROM CURRENT
 * SET [ SESSION | LOCAL ] TIME ZONE | NAMES | SCHEMA | XML OPTION ...
 * SET [ SESSION | LOCAL ] ROLE ... | SESSION AUTHORIZATION ...
 * SET [ SESSION | LOCAL ] SESSION CHARACTERISTICS AS TRANSACTION ...
 * SET TRANSACTION ...      SET CONSTRAINTS ...
 * RESET name | ALL | TIME ZONE | ROLE | SESSION AUTHORIZATION | TRANSACTION ISOLATION LEVEL
 * </pre>
 *
 * <p>{@code LOCAL} lasts until the end of the transaction, so it leaves nothing behind. {@code
 * SESSION} and {@code LOCAL} are scope words only when no {@code TO}, {@code =} or dot follows:
 * {@code SET session.tenant = 1} sets a custom setting named {@code session.tenant}. Setting names
 * are case-insensitive in PostgreSQL even when quoted, so they are lower-cased here. {@code role}
 * and {@code session_authorization} always pin, even if someone lists them as tracked: whoever the
 * session is cannot be replayed safely on another client's backend.
 */
final class SetCommands {
  private SetCommands() {}

  static StatementHead set(List<SqlToken> t, int i, Set<String> tracked) {
    boolean local = false;
    if (word(t, i, "local") && isKeywordForm(t, i)) {
      local = true;
      i++;
    } else if (word(t, i, "session")
        && isKeywordForm(t, i)
        && !word(t, i + 1, "authorization")
        && !word(t, i + 1, "characteristics")) {
      i++;
    }
    if (isKeywordForm(t, i)) {
      if (word(t, i, "transaction") || word(t, i, "constraints")) {
        return StatementHead.EXECUTES;
      }
      if (word(t, i, "session") && word(t, i + 1, "characteristics")) {
        return local ? StatementHead.EXECUTES : StatementHead.pin("SET SESSION CHARACTERISTICS");
      }
      if (word(t, i, "session") && word(t, i + 1, "authorization")) {
        return setting("session_authorization", local, tracked, "SET");
      }
      String alias = settingAlias(t, i);
      if (alias != null) {
        return setting(alias, local, tracked, "SET");
      }
    }
    String name = name(t, i);
    return name == null ? StatementHead.EXECUTES : setting(name, local, tracked, "SET");
  }

  static StatementHead reset(List<SqlToken> t, int i, Set<String> tracked) {
    if (word(t, i, "all") && !punctuation(t, i + 1, ".")) {
      return StatementHead.of(new Effect.ResetAll());
    }
    if (isKeywordForm(t, i)) {
      if (word(t, i, "transaction")) {
        return StatementHead.EXECUTES;
      }
      if (word(t, i, "session") && word(t, i + 1, "authorization")) {
        return setting("session_authorization", false, tracked, "RESET");
      }
      if (word(t, i, "time") && word(t, i + 1, "zone")) {
        return setting("timezone", false, tracked, "RESET");
      }
    }
    String name = name(t, i);
    return name == null ? StatementHead.EXECUTES : setting(name, false, tracked, "RESET");
  }

  /** The setting behind {@code TIME ZONE}, {@code NAMES}, {@code SCHEMA}, {@code XML OPTION}. */
  private static String settingAlias(List<SqlToken> t, int i) {
    if (word(t, i, "time") && word(t, i + 1, "zone")) {
      return "timezone";
    }
    if (word(t, i, "xml") && word(t, i + 1, "option")) {
      return "xmloption";
    }
    if (word(t, i, "names")) {
      return "client_encoding";
    }
    return word(t, i, "schema") ? "search_path" : null;
  }

  private static StatementHead setting(
      String name, boolean local, Set<String> tracked, String verb) {
    if (local) {
      return StatementHead.EXECUTES;
    }
    if (name.equals("role")) {
      return StatementHead.pin(verb + " ROLE");
    }
    if (name.equals("session_authorization")) {
      return StatementHead.pin(verb + " SESSION AUTHORIZATION");
    }
    if (tracked.contains(name)) {
      return StatementHead.of(new Effect.TrackedSet(name));
    }
    return StatementHead.pin(isSettingName(name) ? verb + " " + name : verb);
  }

  /** A word that is not itself a setting name: not followed by {@code TO}, {@code =} or a dot. */
  private static boolean isKeywordForm(List<SqlToken> t, int i) {
    return i < t.size() && !isAssignment(t, i + 1) && !punctuation(t, i + 1, ".");
  }

  private static boolean isAssignment(List<SqlToken> t, int i) {
    return word(t, i, "to") || punctuation(t, i, "=");
  }

  /** A dotted setting name starting at {@code i}, lower-cased; null if there is none. */
  private static String name(List<SqlToken> t, int i) {
    if (i >= t.size() || t.get(i).kind() != SqlToken.Kind.IDENTIFIER) {
      return null;
    }
    StringBuilder name = new StringBuilder(t.get(i).text());
    int j = i + 1;
    while (punctuation(t, j, ".")
        && j + 1 < t.size()
        && t.get(j + 1).kind() == SqlToken.Kind.IDENTIFIER) {
      name.append('.').append(t.get(j + 1).text());
      j += 2;
    }
    return SqlLiterals.lowerAscii(name.toString());
  }

  /**
   * Whether a name has the shape PostgreSQL accepts for settings, so it may appear in a reason; a
   * quoted name could otherwise carry arbitrary text into logs.
   */
  private static boolean isSettingName(String name) {
    if (name.isEmpty() || name.length() > 2 * SqlLiterals.MAX_IDENTIFIER_BYTES) {
      return false;
    }
    boolean partStart = true;
    for (int k = 0; k < name.length(); k++) {
      char c = name.charAt(k);
      boolean letter = (c >= 'a' && c <= 'z') || c == '_';
      boolean ok = partStart ? letter : letter || c == '.' || c == '$' || SqlSyntax.isDigit(c);
      if (!ok) {
        return false;
      }
      partStart = c == '.';
    }
    return !partStart;
  }
}
