package dev.sluice.session;

import java.util.Arrays;

/**
 * What makes two prepared statements the same on a backend: the query text, the parameter type OIDs
 * the client declared, and the client's {@code search_path} (the same text can name other tables
 * under another path; keeping them apart also spares clients PostgreSQL's "cached plan must not
 * change result type" on re-analysis). Clients' own names do not matter: two clients that prepare
 * the same text with the same types share one server-side statement.
 */
public final class StatementKey {
  private final String query;
  private final int[] parameterTypes;
  private final String searchPath;
  private final int hash;

  public StatementKey(String query, int[] parameterTypes, String searchPath) {
    this.query = query;
    this.parameterTypes = parameterTypes.clone();
    this.searchPath = searchPath == null ? "" : searchPath;
    this.hash =
        (query.hashCode() * 31 + Arrays.hashCode(parameterTypes)) * 31 + this.searchPath.hashCode();
  }

  public String query() {
    return query;
  }

  public int[] parameterTypes() {
    return parameterTypes.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof StatementKey k
        && k.hash == hash
        && k.query.equals(query)
        && Arrays.equals(k.parameterTypes, parameterTypes)
        && k.searchPath.equals(searchPath);
  }

  @Override
  public int hashCode() {
    return hash;
  }

  /** No query text: it stays out of logs. */
  @Override
  public String toString() {
    return "StatementKey[" + query.length() + " chars, " + parameterTypes.length + " params]";
  }
}
