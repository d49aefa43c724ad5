package dev.sluice.cache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.cache.Cacheability.Reason;
import dev.sluice.testing.PostgresExtension;
import dev.sluice.testing.PostgresServer;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Cacheability against the volatilities a real backend's pg_proc reports. */
@ExtendWith(PostgresExtension.class)
class PgProcCatalogIT {
  private static final String SCHEMA = "cacheability_it";

  private static FunctionVolatility catalog;

  @BeforeAll
  static void loadCatalog(PostgresServer server) throws SQLException {
    try (Connection connection = server.connectApp();
        Statement statement = connection.createStatement()) {
      statement.execute("DROP SCHEMA IF EXISTS " + SCHEMA + " CASCADE");
      statement.execute("CREATE SCHEMA " + SCHEMA);
      for (String volatility : new String[] {"IMMUTABLE", "STABLE", "VOLATILE"}) {
        statement.execute(
            "CREATE FUNCTION "
                + SCHEMA
                + ".plus_one_"
                + volatility.toLowerCase()
                + "(x int) RETURNS int LANGUAGE sql "
                + volatility
                + " AS 'SELECT x + 1'");
      }
      FunctionVolatility.Builder builder = FunctionVolatility.builder();
      try (ResultSet rows = statement.executeQuery(FunctionVolatility.PG_PROC_QUERY)) {
        while (rows.next()) {
          builder.add(rows.getString(1), rows.getString(2), rows.getString(3));
        }
      }
      catalog = builder.build();
    }
  }

  @AfterAll
  static void dropSchema(PostgresServer server) throws SQLException {
    try (Connection connection = server.connectApp();
        Statement statement = connection.createStatement()) {
      statement.execute("DROP SCHEMA IF EXISTS " + SCHEMA + " CASCADE");
    }
  }

  @Test
  void theCatalogHoldsTheBuiltIns() {
    assertThat(catalog.size()).isGreaterThan(1000);
    assertThat(catalog.lookup(new SqlName("pg_catalog", "now"))).contains(Volatility.STABLE);
    assertThat(catalog.lookup(SqlName.unqualified("random"))).contains(Volatility.VOLATILE);
    assertThat(catalog.lookup(SqlName.unqualified("abs"))).contains(Volatility.IMMUTABLE);
  }

  @Test
  void builtInsDecideByTheirVolatility() {
    assertThat(reason("SELECT now()")).isEqualTo(Reason.STABLE_FUNCTION);
    assertThat(reason("SELECT random()")).isEqualTo(Reason.VOLATILE_FUNCTION);
    assertThat(reason("SELECT nextval('s')")).isEqualTo(Reason.SEQUENCE);
    assertThat(reason("SELECT abs($1::int), lower($2), upper($3::text)"))
        .isEqualTo(Reason.CACHEABLE);
    assertThat(reason("SELECT count(*), max(x) FROM t")).isEqualTo(Reason.CACHEABLE);
    assertThat(reason("SELECT trim(BOTH 'x' FROM s), substring(s FROM 2) FROM t"))
        .isEqualTo(Reason.CACHEABLE);
    // The timestamptz overload is STABLE, and overloads are not told apart.
    assertThat(reason("SELECT * FROM generate_series(1, 3)")).isEqualTo(Reason.STABLE_FUNCTION);
  }

  @Test
  void userFunctionsDecideByTheirDeclaredVolatility() {
    assertThat(reason("SELECT " + SCHEMA + ".plus_one_immutable(1)")).isEqualTo(Reason.CACHEABLE);
    assertThat(reason("SELECT plus_one_immutable(1)")).isEqualTo(Reason.CACHEABLE);
    assertThat(reason("SELECT " + SCHEMA + ".plus_one_stable(1)"))
        .isEqualTo(Reason.STABLE_FUNCTION);
    assertThat(reason("SELECT plus_one_volatile(1)")).isEqualTo(Reason.VOLATILE_FUNCTION);
    assertThat(reason("SELECT other_schema.plus_one_immutable(1)"))
        .isEqualTo(Reason.UNKNOWN_FUNCTION);
  }

  @Test
  void everySafeCastTypeHasAnImmutableInputFunction(PostgresServer server) throws SQLException {
    Map<String, String> inputVolatility = new HashMap<>();
    try (Connection connection = server.connectApp();
        PreparedStatement statement =
            connection.prepareStatement(
                "SELECT t.typname, p.provolatile FROM pg_catalog.pg_type t"
                    + " JOIN pg_catalog.pg_proc p ON p.oid = t.typinput"
                    + " JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace"
                    + " WHERE n.nspname = 'pg_catalog' AND t.typname = ANY (?)")) {
      Array names =
          connection.createArrayOf(
              "text", new HashSet<>(SqlWords.SAFE_CAST_TYPES.values()).toArray());
      statement.setArray(1, names);
      try (ResultSet rows = statement.executeQuery()) {
        while (rows.next()) {
          inputVolatility.put(rows.getString(1), rows.getString(2));
        }
      }
    }
    assertThat(inputVolatility.keySet())
        .containsExactlyInAnyOrderElementsOf(new HashSet<>(SqlWords.SAFE_CAST_TYPES.values()));
    assertThat(inputVolatility)
        .allSatisfy((type, volatility) -> assertThat(volatility).isEqualTo("i"));
  }

  @Test
  void dateAndTimeInputReadsTheClock(PostgresServer server) throws SQLException {
    try (Connection connection = server.connectApp();
        Statement statement = connection.createStatement();
        ResultSet rows =
            statement.executeQuery(
                "SELECT p.provolatile FROM pg_catalog.pg_type t"
                    + " JOIN pg_catalog.pg_proc p ON p.oid = t.typinput"
                    + " WHERE t.typname IN ('date', 'timestamp', 'timestamptz', 'time')")) {
      while (rows.next()) {
        assertThat(rows.getString(1)).isNotEqualTo("i");
      }
    }
  }

  private static Reason reason(String sql) {
    return Cacheability.classify(sql, catalog).reason();
  }
}
