package dev.sluice.session.sql;

import java.util.List;

/**
 * What the leading words of one statement say.
 *
 * @param effects effects of the statement itself, such as a {@code SET}
 * @param callsExecute whether function calls written in the statement run now; false for statements
 *     that only define or name code ({@code CREATE FUNCTION}, {@code PREPARE}, {@code EXPLAIN}
 *     without {@code ANALYZE}, {@code GRANT ... ON FUNCTION})
 */
record StatementHead(List<Effect> effects, boolean callsExecute) {
  static final StatementHead EXECUTES = new StatementHead(List.of(), true);
  static final StatementHead DEFINES = new StatementHead(List.of(), false);

  static StatementHead of(Effect effect) {
    return new StatementHead(List.of(effect), true);
  }

  static StatementHead pin(String reason) {
    return of(new Effect.Pin(reason));
  }
}
