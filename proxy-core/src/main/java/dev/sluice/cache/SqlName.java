package dev.sluice.cache;

import java.util.Objects;

/**
 * A relation or function name as a statement wrote it: identifiers folded to lower case unless
 * quoted, as PostgreSQL folds them. A three-part name ({@code db.schema.name}) keeps its last two
 * parts; the database is the connection's.
 *
 * @param schema the schema written before the name, or null when the name is unqualified (the
 *     backend resolves it through {@code search_path})
 * @param name the object's name
 */
public record SqlName(String schema, String name) {
  public SqlName {
    Objects.requireNonNull(name, "name");
  }

  public static SqlName unqualified(String name) {
    return new SqlName(null, name);
  }

  public boolean qualified() {
    return schema != null;
  }

  /** {@code schema.name} or {@code name}, unquoted. */
  @Override
  public String toString() {
    return schema == null ? name : schema + "." + name;
  }
}
