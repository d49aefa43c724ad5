package dev.sluice.session.sql;

import java.util.Set;

/**
 * One {@code set_config(name, value, is_local)} call being read, argument by argument, as its
 * tokens stream past. An argument counts as a literal only if it is a single string, number or
 * {@code true}/{@code false}, optionally followed by a {@code ::type} cast; anything else is an
 * expression whose value we cannot know.
 */
final class SetConfigCall {
  static final String REASON = "set_config(..., false)";

  private static final Set<String> TRUE_STRINGS = Set.of("t", "true", "on", "yes", "1");

  private static final int EMPTY = 0;
  private static final int LITERAL = 1;
  private static final int CAST = 2;
  private static final int TYPE = 3;
  private static final int EXPRESSION = 4;

  /** The nesting depth of the call's arguments. */
  final int depth;

  /** Where the call's effect goes in the statement's list, to keep source order. */
  final int slot;

  private int argument;
  private int state = EMPTY;
  private boolean sawToken;
  private SqlToken.Kind literalKind;
  private String literal;

  private int arguments;
  private String name;
  private boolean local;

  SetConfigCall(int depth, int slot) {
    this.depth = depth;
    this.slot = slot;
  }

  /** A token at the call's own depth, other than the {@code ,} and {@code )} that delimit. */
  void argumentToken(SqlLexer lx) {
    sawToken = true;
    state =
        switch (state) {
          case EMPTY -> startArgument(lx);
          case LITERAL -> lx.isPunctuation("::") ? CAST : EXPRESSION;
          case CAST -> lx.kind() == SqlToken.Kind.IDENTIFIER ? TYPE : EXPRESSION;
          case TYPE -> typeContinues(lx);
          default -> EXPRESSION;
        };
  }

  void endArgument() {
    boolean isLiteral = state == LITERAL || state == TYPE;
    if (sawToken || argument > 0) {
      arguments = argument + 1;
    }
    if (argument == 0) {
      name = isLiteral && literalKind == SqlToken.Kind.STRING ? literal : null;
    } else if (argument == 2) {
      local = isLiteral && isTrue();
    }
    argument++;
    state = EMPTY;
    sawToken = false;
    literalKind = null;
    literal = null;
  }

  /**
   * The call's effect once all its arguments are read: null when {@code is_local} is literally
   * true, a tracked set when the name is a literal tracked setting, a pin otherwise.
   */
  Effect effect(Set<String> tracked) {
    if (arguments == 3 && local) {
      return null;
    }
    if (name != null) {
      String n = SqlLiterals.lowerAscii(name);
      if (tracked.contains(n) && !n.equals("role") && !n.equals("session_authorization")) {
        return new Effect.TrackedSet(n);
      }
    }
    return new Effect.Pin(REASON);
  }

  private int startArgument(SqlLexer lx) {
    SqlToken.Kind kind = lx.kind();
    boolean literalToken =
        kind == SqlToken.Kind.STRING
            || kind == SqlToken.Kind.NUMBER
            || lx.isWord("true")
            || lx.isWord("false");
    if (!literalToken) {
      return EXPRESSION;
    }
    if (argument == 0 || argument == 2) {
      literalKind = kind;
      literal = lx.text();
    }
    return LITERAL;
  }

  /** After {@code ::type}: more words ({@code double precision}), a dot, or another cast. */
  private static int typeContinues(SqlLexer lx) {
    if (lx.isPunctuation("::") || lx.isPunctuation('.')) {
      return CAST;
    }
    return lx.kind() == SqlToken.Kind.IDENTIFIER ? TYPE : EXPRESSION;
  }

  private boolean isTrue() {
    return switch (literalKind) {
      case STRING -> TRUE_STRINGS.contains(SqlLiterals.lowerAscii(trimAscii(literal)));
      case NUMBER -> literal.equals("1");
      default -> literal.equals("true");
    };
  }

  private static String trimAscii(String v) {
    int b = 0;
    int e = v.length();
    while (b < e && SqlSyntax.isSpace(v.charAt(b))) {
      b++;
    }
    while (e > b && SqlSyntax.isSpace(v.charAt(e - 1))) {
      e--;
    }
    return v.substring(b, e);
  }
}
