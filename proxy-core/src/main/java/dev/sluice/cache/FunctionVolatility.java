package dev.sluice.cache;

import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The volatility of every function a backend knows, built-in and user-defined alike, as read from
 * its {@code pg_proc} with {@link #PG_PROC_QUERY}. Immutable; a refresh builds a new one.
 *
 * <p>Names are matched without argument types: an overloaded name takes the volatility of its most
 * volatile overload ({@code generate_series} is IMMUTABLE for integers but STABLE for {@code
 * timestamptz}, so it counts as STABLE). An unqualified name is looked up in every schema, again
 * keeping the most volatile: the classifier does not know the session's {@code search_path}, and
 * this way a user function can never hide behind a built-in of the same name or the other way
 * round. A name the catalog does not hold is {@linkplain #lookup absent}, which the classifier
 * treats as volatile.
 */
public final class FunctionVolatility {
  /**
   * One row per function: schema, name and {@code provolatile} ({@code 'i'}, {@code 's'} or {@code
   * 'v'}). Schema-qualified so that no user object can stand in for the catalogs.
   */
  public static final String PG_PROC_QUERY =
      "SELECT n.nspname, p.proname, p.provolatile"
          + " FROM pg_catalog.pg_proc p"
          + " JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace";

  private static final FunctionVolatility EMPTY = new Builder().build();

  private final Map<SqlName, Volatility> qualified;
  private final Map<String, Volatility> unqualified;
  private final Map<String, Volatility> user;

  private FunctionVolatility(
      Map<SqlName, Volatility> qualified,
      Map<String, Volatility> bare,
      Map<String, Volatility> user) {
    this.qualified = Map.copyOf(qualified);
    this.unqualified = Map.copyOf(bare);
    this.user = Map.copyOf(user);
  }

  /** A catalog that knows no function, so that every call is volatile. */
  public static FunctionVolatility empty() {
    return EMPTY;
  }

  public static Builder builder() {
    return new Builder();
  }

  /**
   * The volatility of the function {@code name}: for a qualified name, of that schema's function;
   * for an unqualified one, the most volatile of that name in any schema. Empty if unknown.
   */
  public Optional<Volatility> lookup(SqlName name) {
    return Optional.ofNullable(
        name.qualified() ? qualified.get(name) : unqualified.get(name.name()));
  }

  /**
   * Like {@link #lookup}, among functions outside the system schemas only (those a user wrote,
   * which may write to tables); empty when no user function has that name.
   */
  public Optional<Volatility> lookupUser(SqlName name) {
    if (name.qualified()) {
      return SqlWords.isCatalogSchema(name.schema())
          ? Optional.empty()
          : Optional.ofNullable(qualified.get(name));
    }
    return Optional.ofNullable(user.get(name.name()));
  }

  /** How many distinct schema-qualified names the catalog holds. */
  public int size() {
    return qualified.size();
  }

  @Override
  public String toString() {
    return "FunctionVolatility[" + qualified.size() + " functions]";
  }

  /** Collects {@code pg_proc} rows; overloads merge to their most volatile. */
  public static final class Builder {
    private final Map<SqlName, Volatility> qualified = new HashMap<>();
    private final Map<String, Volatility> unqualified = new HashMap<>();
    private final Map<String, Volatility> user = new HashMap<>();

    private Builder() {}

    /** Adds one row of {@link #PG_PROC_QUERY}: {@code provolatile} as the backend sends it. */
    public Builder add(String schema, String name, String provolatile) {
      Objects.requireNonNull(provolatile, "provolatile");
      char code = provolatile.length() == 1 ? provolatile.charAt(0) : '?';
      return add(schema, name, Volatility.ofCode(code));
    }

    public Builder add(String schema, String name, Volatility volatility) {
      Objects.requireNonNull(schema, "schema");
      Objects.requireNonNull(volatility, "volatility");
      qualified.merge(new SqlName(schema, name), volatility, Volatility::atLeast);
      unqualified.merge(name, volatility, Volatility::atLeast);
      if (!SqlWords.isCatalogSchema(schema)) {
        user.merge(name, volatility, Volatility::atLeast);
      }
      return this;
    }

    public FunctionVolatility build() {
      return new FunctionVolatility(qualified, unqualified, user);
    }
  }
}
