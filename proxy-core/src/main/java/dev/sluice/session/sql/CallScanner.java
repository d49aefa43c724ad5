package dev.sluice.session.sql;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Watches every token of a statement for state-creating constructs that may appear anywhere in it,
 * keeping only the previous token and two tiny state machines, so plain statements cost a few
 * comparisons per token and no allocation:
 *
 * <ul>
 *   <li>{@code set_config(...)} calls (any qualification, or quoted {@code "set_config"}), read
 *       argument by argument by a {@link SetConfigCall}; calls nest, so they form a stack;
 *   <li>calls of the session-level advisory-lock functions;
 *   <li>{@code INTO [LOCAL|GLOBAL] TEMP|TEMPORARY} and {@code INTO [UNLOGGED] [TABLE] pg_temp.x}
 *       ({@code SELECT ... INTO}), except right after a statement's leading {@code INSERT} or
 *       {@code MERGE}. Anywhere else {@code insert} may be a column ({@code SELECT insert INTO TEMP
 *       t FROM ...}), so a later {@code INSERT INTO temp} inside {@code WITH} pins needlessly
 *       rather than let a temporary table through;
 *   <li>{@code UPDATE [ONLY] [pg_catalog.]pg_settings}, whose rewrite rule calls {@code
 *       set_config(name, value, false)}.
 * </ul>
 */
final class CallScanner {
  private static final String SET_CONFIG = "set_config";
  private static final List<String> FUNCTIONS =
      List.of(
          SET_CONFIG,
          "pg_advisory_lock",
          "pg_advisory_lock_shared",
          "pg_try_advisory_lock",
          "pg_try_advisory_lock_shared");

  private static final int NONE = 0;
  private static final int INTO = 1;
  private static final int INTO_SCOPE = 2;
  private static final int INTO_UNLOGGED = 3;
  private static final int INTO_TABLE = 4;
  private static final int INTO_TEMP_SCHEMA = 5;
  private static final int UPDATE = 1;
  private static final int UPDATE_ONLY = 2;
  private static final int UPDATE_SCHEMA = 3;
  private static final int UPDATE_DOT = 4;

  private final String sql;
  private final Set<String> tracked;
  private final List<Effect> effects = new ArrayList<>();
  private final ArrayDeque<SetConfigCall> calls = new ArrayDeque<>();

  private int tokenIndex;
  private int depth;
  private int into;
  private int update;
  private boolean previousIsIdentifier;
  private boolean previousQuoted;
  private int previousStart;
  private int previousEnd;
  private String previousQuotedName;

  CallScanner(String sql, Set<String> tracked) {
    this.sql = sql;
    this.tracked = tracked;
  }

  void startStatement() {
    effects.clear();
    calls.clear();
    tokenIndex = 0;
    depth = 0;
    into = NONE;
    update = NONE;
    previousIsIdentifier = false;
    previousQuotedName = null;
  }

  void accept(SqlLexer lx) {
    boolean open = lx.isPunctuation('(') || lx.isPunctuation('[');
    boolean close = lx.isPunctuation(')') || lx.isPunctuation(']');
    if (!calls.isEmpty()) {
      feedCall(lx, close);
    }
    if (open) {
      depth++;
    } else if (close && depth > 0) {
      depth--;
    }
    if (previousIsIdentifier && lx.isPunctuation('(')) {
      call();
    }
    if (into != NONE || lx.isWord("into")) {
      into = nextInto(lx);
    }
    if (update != NONE || lx.isWord("update")) {
      update = nextUpdate(lx);
    }
    previousIsIdentifier = lx.kind() == SqlToken.Kind.IDENTIFIER;
    previousQuoted = lx.quoted();
    previousStart = lx.start();
    previousEnd = lx.end();
    previousQuotedName = previousIsIdentifier && previousQuoted ? lx.text() : null;
    tokenIndex++;
  }

  /** The statement's effects in source order; calls left open by truncated text still count. */
  List<Effect> finishStatement() {
    while (!calls.isEmpty()) {
      close(calls.pop());
    }
    if (effects.isEmpty()) {
      return List.of();
    }
    List<Effect> found = new ArrayList<>(effects.size());
    for (Effect e : effects) {
      if (e != null) {
        found.add(e);
      }
    }
    return found;
  }

  /** Passes a token to the innermost open call, whose arguments sit at its own depth. */
  private void feedCall(SqlLexer lx, boolean close) {
    SetConfigCall top = calls.peek();
    if (depth != top.depth) {
      return;
    }
    if (close) {
      close(calls.pop());
    } else if (lx.isPunctuation(',')) {
      top.endArgument();
    } else {
      top.argumentToken(lx);
    }
  }

  private void close(SetConfigCall call) {
    call.endArgument();
    effects.set(call.slot, call.effect(tracked));
  }

  private void call() {
    for (String function : FUNCTIONS) {
      if (previousIs(function)) {
        if (function.equals(SET_CONFIG)) {
          effects.add(null);
          calls.push(new SetConfigCall(depth, effects.size() - 1));
        } else {
          effects.add(new Effect.Pin(function + "()"));
        }
        return;
      }
    }
  }

  private int nextInto(SqlLexer lx) {
    boolean temp = lx.isWord("temp") || lx.isWord("temporary");
    if ((temp && (into == INTO || into == INTO_SCOPE))
        || (into == INTO_TEMP_SCHEMA && lx.isPunctuation('.'))) {
      effects.add(new Effect.Pin("SELECT INTO TEMP"));
      return NONE;
    }
    if (lx.isWord("into")) {
      boolean insertsInto = previousIsWord("insert") || previousIsWord("merge");
      return tokenIndex == 1 && insertsInto ? NONE : INTO;
    }
    return switch (into) {
      case INTO ->
          lx.isWord("local") || lx.isWord("global")
              ? INTO_SCOPE
              : lx.isWord("unlogged") ? INTO_UNLOGGED : tableOrTempSchema(lx);
      case INTO_UNLOGGED -> tableOrTempSchema(lx);
      case INTO_TABLE -> isTempSchema(lx) ? INTO_TEMP_SCHEMA : NONE;
      default -> NONE;
    };
  }

  private int tableOrTempSchema(SqlLexer lx) {
    return lx.isWord("table") ? INTO_TABLE : isTempSchema(lx) ? INTO_TEMP_SCHEMA : NONE;
  }

  private int nextUpdate(SqlLexer lx) {
    if (lx.isWord("update")) {
      return UPDATE;
    }
    if (update != UPDATE_SCHEMA && isIdentifier(lx, "pg_settings")) {
      effects.add(new Effect.Pin("UPDATE pg_settings"));
      return NONE;
    }
    return switch (update) {
      case UPDATE -> lx.isWord("only") ? UPDATE_ONLY : catalog(lx);
      case UPDATE_ONLY -> catalog(lx);
      case UPDATE_SCHEMA -> lx.isPunctuation('.') ? UPDATE_DOT : NONE;
      default -> NONE;
    };
  }

  private static int catalog(SqlLexer lx) {
    return isIdentifier(lx, "pg_catalog") ? UPDATE_SCHEMA : NONE;
  }

  private static boolean isIdentifier(SqlLexer lx, String name) {
    return lx.kind() == SqlToken.Kind.IDENTIFIER
        && (lx.quoted() ? lx.text().equals(name) : lx.isWord(name));
  }

  private static boolean isTempSchema(SqlLexer lx) {
    return lx.kind() == SqlToken.Kind.IDENTIFIER && StatementRules.isTempSchema(lx.text());
  }

  private boolean previousIsWord(String word) {
    return previousIsIdentifier
        && !previousQuoted
        && SqlSyntax.regionIsWord(sql, previousStart, previousEnd, word);
  }

  /** Whether the previous token is the identifier {@code name}, quoted or not. */
  private boolean previousIs(String name) {
    if (!previousIsIdentifier) {
      return false;
    }
    return previousQuoted
        ? name.equals(previousQuotedName)
        : SqlSyntax.regionIsWord(sql, previousStart, previousEnd, name);
  }
}
