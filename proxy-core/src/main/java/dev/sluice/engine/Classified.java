package dev.sluice.engine;

import dev.sluice.session.sql.Classification;

/**
 * What the classify stage learnt of one client message, carried with it so that no message is
 * decoded or classified twice: the SQL text of a Query or Parse (decoded in the client's encoding)
 * and what it does to session state. {@link #NONE} for a message not classified (yet).
 */
record Classified(String sql, Classification classification) {
  static final Classified NONE = new Classified(null, null);

  boolean known() {
    return classification != null;
  }
}
