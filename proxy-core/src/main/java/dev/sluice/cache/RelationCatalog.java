package dev.sluice.cache;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The relations of one database as the cache needs them: what kind each name is, whether it has
 * row-level security, and which tables inherit from which (a write to a partition changes what its
 * parent returns). Read from the backend with {@link #RELATIONS_QUERY} and {@link #INHERITS_QUERY};
 * immutable, a refresh builds a new one.
 *
 * <p>Names are matched as the statement wrote them. An unqualified name is checked against every
 * schema that has it, since the catalog does not know the session's {@code search_path}: if any of
 * them is a view, or has row-level security, the statement is not cached. A name no schema has
 * (outside the temporary schemas, which are not read) is unknown, and unknown is not cached.
 */
public final class RelationCatalog {
  /** One row per relation: schema, name, {@code relkind}, {@code relrowsecurity}. */
  public static final String RELATIONS_QUERY =
      "SELECT n.nspname, c.relname, c.relkind::text, c.relrowsecurity::text"
          + " FROM pg_catalog.pg_class c"
          + " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
          + " WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')"
          + " AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'";

  /** One row per inheritance link: the child's name, the parent's name. */
  public static final String INHERITS_QUERY =
      "SELECT c.relname, p.relname FROM pg_catalog.pg_inherits i"
          + " JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid"
          + " JOIN pg_catalog.pg_class p ON p.oid = i.inhparent";

  private static final RelationCatalog EMPTY = new Builder().build();

  private record Relation(String schema, char kind, boolean rowSecurity) {}

  private final Map<String, List<Relation>> byName;
  private final Map<String, Set<String>> ancestors;

  private RelationCatalog(Map<String, List<Relation>> byName, Map<String, Set<String>> ancestors) {
    this.byName = Map.copyOf(byName);
    this.ancestors = Map.copyOf(ancestors);
  }

  /** A catalog that knows no relation: only statements that read none are cached. */
  public static RelationCatalog empty() {
    return EMPTY;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Why reading {@code relations} keeps a statement out of the cache, if anything does. */
  public Optional<Cacheability.Reason> refusal(Set<SqlName> relations) {
    for (SqlName name : relations) {
      List<Relation> candidates = byName.getOrDefault(name.name(), List.of());
      boolean found = false;
      for (Relation r : candidates) {
        if (name.qualified() && !name.schema().equals(r.schema())) {
          continue;
        }
        found = true;
        switch (r.kind()) {
          case 'v' -> {
            return Optional.of(Cacheability.Reason.VIEW);
          }
          case 'f' -> {
            return Optional.of(Cacheability.Reason.FOREIGN_TABLE);
          }
          case 'S' -> {
            return Optional.of(Cacheability.Reason.SEQUENCE);
          }
          default -> {}
        }
        if (r.rowSecurity()) {
          return Optional.of(Cacheability.Reason.ROW_SECURITY);
        }
      }
      if (!found) {
        return Optional.of(Cacheability.Reason.UNKNOWN_RELATION);
      }
    }
    return Optional.empty();
  }

  /** {@code table} and every table it inherits from, transitively: what a write to it changes. */
  public Set<String> withAncestors(String table) {
    Set<String> up = ancestors.get(table);
    if (up == null) {
      return Set.of(table);
    }
    Set<String> all = new LinkedHashSet<>();
    all.add(table);
    all.addAll(up);
    return all;
  }

  public int size() {
    return byName.values().stream().mapToInt(List::size).sum();
  }

  @Override
  public String toString() {
    return "RelationCatalog[" + size() + " relations]";
  }

  /** Collects the rows of the two queries. */
  public static final class Builder {
    private final Map<String, List<Relation>> byName = new HashMap<>();
    private final Map<String, Set<String>> parents = new HashMap<>();

    private Builder() {}

    /** One row of {@link #RELATIONS_QUERY}, as text. */
    public Builder relation(String schema, String name, String relkind, String rowSecurity) {
      char kind = relkind == null || relkind.isEmpty() ? '?' : relkind.charAt(0);
      boolean rls = "true".equals(rowSecurity) || "t".equals(rowSecurity);
      byName.computeIfAbsent(name, n -> new ArrayList<>()).add(new Relation(schema, kind, rls));
      return this;
    }

    /** One row of {@link #INHERITS_QUERY}. */
    public Builder inherits(String child, String parent) {
      parents.computeIfAbsent(child, c -> new HashSet<>()).add(parent);
      return this;
    }

    public RelationCatalog build() {
      Map<String, Set<String>> ancestors = new HashMap<>();
      for (String child : parents.keySet()) {
        Set<String> seen = new LinkedHashSet<>();
        List<String> todo = new ArrayList<>(parents.get(child));
        while (!todo.isEmpty()) {
          String p = todo.remove(todo.size() - 1);
          if (seen.add(p)) {
            todo.addAll(parents.getOrDefault(p, Set.of()));
          }
        }
        ancestors.put(child, Set.copyOf(seen));
      }
      Map<String, List<Relation>> frozen = new HashMap<>();
      byName.forEach((k, v) -> frozen.put(k, List.copyOf(v)));
      return new RelationCatalog(frozen, ancestors);
    }
  }
}
