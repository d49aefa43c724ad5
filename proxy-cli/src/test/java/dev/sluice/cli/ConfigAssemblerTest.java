package dev.sluice.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.config.ClientAuth;
import dev.sluice.config.HostAndPort;
import dev.sluice.config.PoolMode;
import dev.sluice.config.ProxyConfig;
import dev.sluice.config.SessionStateMode;
import java.time.Duration;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ConfigAssemblerTest {
  private static final String URL = "postgres://app:pw@db.internal/app";

  private static CliSettings assemble(Map<Flag, String> flags, Map<String, String> env) {
    return ConfigAssembler.assemble(flags, env);
  }

  private static Map<Flag, String> flags(Object... pairs) {
    Map<Flag, String> m = new EnumMap<>(Flag.class);
    for (int i = 0; i < pairs.length; i += 2) {
      m.put((Flag) pairs[i], (String) pairs[i + 1]);
    }
    return m;
  }

  @Test
  void defaultsAreTheDocumentedOnes() {
    CliSettings s = assemble(flags(Flag.UPSTREAM, URL), Map.of());
    ProxyConfig c = s.config();

    assertThat(c.listen()).isEqualTo(new HostAndPort("127.0.0.1", 6432));
    assertThat(c.poolMode()).isEqualTo(PoolMode.TRANSACTION);
    assertThat(c.poolSize()).isEqualTo(20);
    assertThat(c.minIdle()).isEqualTo(2);
    assertThat(c.acquireTimeout()).isEqualTo(Duration.ofSeconds(30));
    assertThat(c.maxClientConnections()).isEqualTo(10_000);
    assertThat(c.serverLifetime()).isEqualTo(Duration.ofHours(1));
    assertThat(c.serverIdleTimeout()).isEqualTo(Duration.ofMinutes(10));
    assertThat(c.connectTimeout()).isEqualTo(Duration.ofSeconds(10));
    assertThat(c.maxMessageSize()).isEqualTo(128 << 20);
    assertThat(c.serverResetQuery()).isEqualTo("DISCARD ALL");
    assertThat(c.clientAuth()).isEqualTo(ClientAuth.SCRAM_SHA_256);
    assertThat(c.maxPreparedStatements()).isEqualTo(200);
    assertThat(c.sessionState()).isEqualTo(SessionStateMode.PIN);
    assertThat(c.workerThreads()).isZero();
    assertThat(s.logLevel()).isEqualTo(LogLevel.INFO);
  }

  @Test
  void flagBeatsEnvironmentBeatsDefault() {
    Map<String, String> env = Map.of("DATABASE_URL", URL, "SLUICE_POOL_SIZE", "50");

    assertThat(assemble(flags(), Map.of("DATABASE_URL", URL)).config().poolSize()).isEqualTo(20);
    assertThat(assemble(flags(), env).config().poolSize()).isEqualTo(50);
    assertThat(assemble(flags(Flag.POOL_SIZE, "7"), env).config().poolSize()).isEqualTo(7);
  }

  @Test
  void everyFlagReadsItsVariable() {
    Map<String, String> env = new HashMap<>();
    env.put("SLUICE_LISTEN", "0.0.0.0:7432");
    env.put("SLUICE_UPSTREAM", "postgres://env@from-env/db");
    env.put("SLUICE_POOL_MODE", "session");
    env.put("SLUICE_POOL_SIZE", "40");
    env.put("SLUICE_MIN_IDLE", "5");
    env.put("SLUICE_ACQUIRE_TIMEOUT", "5s");
    env.put("SLUICE_MAX_CLIENT_CONNECTIONS", "300");
    env.put("SLUICE_SERVER_LIFETIME", "2h");
    env.put("SLUICE_SERVER_IDLE_TIMEOUT", "90s");
    env.put("SLUICE_CONNECT_TIMEOUT", "3s");
    env.put("SLUICE_MAX_MESSAGE_SIZE", "64kB");
    env.put("SLUICE_MAX_MESSAGE_MEMORY", "32MB");
    env.put("SLUICE_CLIENT_LOGIN_TIMEOUT", "4s");
    env.put("SLUICE_MAX_PENDING_LOGINS", "70");
    env.put("SLUICE_LOGIN_FAILURE_LIMIT", "0");
    env.put("SLUICE_LOGIN_FAILURE_WINDOW", "5m");
    env.put("SLUICE_CONNECT_RETRIES", "2");
    env.put("SLUICE_SERVER_CHECK_DELAY", "5s");
    env.put("SLUICE_SHUTDOWN_TIMEOUT", "7s");
    env.put("SLUICE_ALLOW_DATABASES", "reports, archive");
    env.put("SLUICE_MAX_POOLS", "12");
    env.put("SLUICE_TCP_KEEPALIVE_IDLE", "20s");
    env.put("SLUICE_TCP_USER_TIMEOUT", "15s");
    env.put("SLUICE_QUERY_TIMEOUT", "90s");
    env.put("SLUICE_IDLE_TRANSACTION_TIMEOUT", "off");
    env.put("SLUICE_TLS_MODE", "allow");
    env.put("SLUICE_TLS_CERT", "/etc/sluice/cert.pem");
    env.put("SLUICE_TLS_KEY", "/etc/sluice/key.pem");
    env.put("SLUICE_ADMIN_LISTEN", "0.0.0.0:9999");
    env.put("SLUICE_ADMIN_TOKEN", "s3cret");
    env.put("SLUICE_ADMIN_USERS", "ops, oncall");
    env.put("SLUICE_SERVER_RESET_QUERY", "RESET ALL");
    env.put("SLUICE_CLIENT_AUTH", "md5");
    env.put("SLUICE_MAX_PREPARED_STATEMENTS", "50");
    env.put("SLUICE_SESSION_STATE", "reject");
    env.put("SLUICE_WORKERS", "4");
    env.put("SLUICE_LOG_LEVEL", "debug");
    env.put("SLUICE_LOG_FORMAT", "json");
    env.put("SLUICE_CACHE", "off");
    env.put("SLUICE_CACHE_MAX_SIZE", "64MB");
    env.put("SLUICE_CACHE_MAX_ENTRY_SIZE", "256kB");
    env.put("SLUICE_CACHE_MAX_AGE", "5m");
    env.put("SLUICE_CACHE_STALE_WHILE_REVALIDATE", "0s");
    env.put("SLUICE_CACHE_INVALIDATION", "wal");
    env.put("SLUICE_CACHE_INVALIDATION_CHANNEL", "cache_events");
    // SLUICE_CONFIG names a file, which ConfigSource reads; the assembler takes it parsed.
    assertThat(env).hasSize(Flag.values().length - 1);

    CliSettings s = assemble(flags(), env);
    ProxyConfig c = s.config();

    assertThat(c.listen()).isEqualTo(new HostAndPort("0.0.0.0", 7432));
    assertThat(c.upstream().primary().host()).isEqualTo("from-env");
    assertThat(c.poolMode()).isEqualTo(PoolMode.SESSION);
    assertThat(c.poolSize()).isEqualTo(40);
    assertThat(c.minIdle()).isEqualTo(5);
    assertThat(c.acquireTimeout()).isEqualTo(Duration.ofSeconds(5));
    assertThat(c.maxClientConnections()).isEqualTo(300);
    assertThat(c.serverLifetime()).isEqualTo(Duration.ofHours(2));
    assertThat(c.serverIdleTimeout()).isEqualTo(Duration.ofSeconds(90));
    assertThat(c.connectTimeout()).isEqualTo(Duration.ofSeconds(3));
    assertThat(c.maxMessageSize()).isEqualTo(65536);
    assertThat(c.maxMessageMemory()).isEqualTo(32L << 20);
    assertThat(c.clientLoginTimeout()).isEqualTo(Duration.ofSeconds(4));
    assertThat(c.maxPendingLogins()).isEqualTo(70);
    assertThat(c.loginFailureLimit()).isZero();
    assertThat(c.loginFailureWindow()).isEqualTo(Duration.ofMinutes(5));
    assertThat(c.connectRetries()).isEqualTo(2);
    assertThat(c.serverCheckDelay()).isEqualTo(Duration.ofSeconds(5));
    assertThat(c.shutdownTimeout()).isEqualTo(Duration.ofSeconds(7));
    assertThat(c.allowDatabases()).containsExactlyInAnyOrder("reports", "archive");
    assertThat(c.maxPools()).isEqualTo(12);
    assertThat(c.tcpKeepaliveIdle()).isEqualTo(Duration.ofSeconds(20));
    assertThat(c.tcpUserTimeout()).isEqualTo(Duration.ofSeconds(15));
    assertThat(c.queryTimeout()).isEqualTo(Duration.ofSeconds(90));
    assertThat(c.idleTransactionTimeout()).isZero();
    assertThat(c.tlsCert()).isEqualTo("/etc/sluice/cert.pem");
    assertThat(c.tlsKey()).isEqualTo("/etc/sluice/key.pem");
    assertThat(c.adminListen()).isEqualTo(new HostAndPort("0.0.0.0", 9999));
    assertThat(c.adminToken()).isEqualTo("s3cret");
    assertThat(c.adminUsers()).containsExactlyInAnyOrder("ops", "oncall");
    assertThat(c.serverResetQuery()).isEqualTo("RESET ALL");
    assertThat(c.clientAuth()).isEqualTo(ClientAuth.MD5);
    assertThat(c.maxPreparedStatements()).isEqualTo(50);
    assertThat(c.sessionState()).isEqualTo(SessionStateMode.REJECT);
    assertThat(c.cache())
        .isEqualTo(
            new dev.sluice.config.CacheConfig(
                false,
                64L << 20,
                256L << 10,
                Duration.ofMinutes(5),
                Duration.ZERO,
                dev.sluice.config.CacheConfig.Invalidation.WAL,
                "cache_events",
                "sluice_cache"));
    assertThat(c.workerThreads()).isEqualTo(4);
    assertThat(s.logLevel()).isEqualTo(LogLevel.DEBUG);
    assertThat(s.logFormat()).isEqualTo(LogFormat.JSON);
    for (Flag f : Flag.values()) {
      if (f != Flag.CONFIG) {
        assertThat(s.origin(f)).as(f.name()).isEqualTo(Origin.env(f.envVar()));
      }
    }
  }

  @Test
  void everyFlagReadsItsFileKey() {
    Map<Flag, String> values = new EnumMap<>(Flag.class);
    values.put(Flag.LISTEN, "0.0.0.0:7432");
    values.put(Flag.UPSTREAM, "postgres://file@from-file/db");
    values.put(Flag.POOL_MODE, "session");
    values.put(Flag.POOL_SIZE, "40");
    values.put(Flag.MIN_IDLE, "5");
    values.put(Flag.ACQUIRE_TIMEOUT, "5s");
    values.put(Flag.MAX_CLIENT_CONNECTIONS, "300");
    values.put(Flag.SERVER_LIFETIME, "2h");
    values.put(Flag.SERVER_IDLE_TIMEOUT, "90s");
    values.put(Flag.CONNECT_TIMEOUT, "3s");
    values.put(Flag.CONNECT_RETRIES, "2");
    values.put(Flag.SERVER_CHECK_DELAY, "5s");
    values.put(Flag.SHUTDOWN_TIMEOUT, "7s");
    values.put(Flag.TCP_KEEPALIVE_IDLE, "20s");
    values.put(Flag.TCP_USER_TIMEOUT, "15s");
    values.put(Flag.QUERY_TIMEOUT, "0");
    values.put(Flag.IDLE_TRANSACTION_TIMEOUT, "2m");
    values.put(Flag.ALLOW_DATABASES, "*");
    values.put(Flag.MAX_POOLS, "12");
    values.put(Flag.MAX_MESSAGE_SIZE, "64kB");
    values.put(Flag.MAX_MESSAGE_MEMORY, "32MB");
    values.put(Flag.CLIENT_LOGIN_TIMEOUT, "4s");
    values.put(Flag.MAX_PENDING_LOGINS, "70");
    values.put(Flag.LOGIN_FAILURE_LIMIT, "3");
    values.put(Flag.LOGIN_FAILURE_WINDOW, "30s");
    values.put(Flag.SERVER_RESET_QUERY, "RESET ALL");
    values.put(Flag.CLIENT_AUTH, "md5");
    values.put(Flag.SESSION_STATE, "reject");
    values.put(Flag.MAX_PREPARED_STATEMENTS, "50");
    values.put(Flag.WORKERS, "4");
    values.put(Flag.TLS_MODE, "disable");
    values.put(Flag.TLS_CERT, "/etc/sluice/cert.pem");
    values.put(Flag.TLS_KEY, "/etc/sluice/key.pem");
    values.put(Flag.ADMIN_LISTEN, "off");
    values.put(Flag.ADMIN_TOKEN, "t0ken");
    values.put(Flag.ADMIN_USERS, "none");
    values.put(Flag.LOG_LEVEL, "warn");
    values.put(Flag.LOG_FORMAT, "text");
    values.put(Flag.CACHE, "on");
    values.put(Flag.CACHE_MAX_SIZE, "1GB");
    values.put(Flag.CACHE_MAX_ENTRY_SIZE, "4MB");
    values.put(Flag.CACHE_MAX_AGE, "30s");
    values.put(Flag.CACHE_STALE_WHILE_REVALIDATE, "1m");
    values.put(Flag.CACHE_INVALIDATION, "max-age");
    values.put(Flag.CACHE_INVALIDATION_CHANNEL, "none");
    assertThat(values).hasSize(Flag.values().length - 1);

    CliSettings s = ConfigAssembler.assemble(flags(), Map.of(), new ConfigFile("s.yaml", values));
    ProxyConfig c = s.config();

    assertThat(c.listen()).isEqualTo(new HostAndPort("0.0.0.0", 7432));
    assertThat(c.upstream().primary().host()).isEqualTo("from-file");
    assertThat(c.poolMode()).isEqualTo(PoolMode.SESSION);
    assertThat(c.poolSize()).isEqualTo(40);
    assertThat(c.minIdle()).isEqualTo(5);
    assertThat(c.serverLifetime()).isEqualTo(Duration.ofHours(2));
    assertThat(c.allowDatabases()).containsExactly("*");
    assertThat(c.maxMessageMemory()).isEqualTo(32L << 20);
    assertThat(c.loginFailureLimit()).isEqualTo(3);
    assertThat(c.loginFailureWindow()).isEqualTo(Duration.ofSeconds(30));
    assertThat(c.adminListen()).isNull();
    assertThat(c.adminToken()).isEqualTo("t0ken");
    assertThat(c.adminUsers()).isEmpty();
    assertThat(c.workerThreads()).isEqualTo(4);
    assertThat(c.queryTimeout()).isZero();
    assertThat(c.idleTransactionTimeout()).isEqualTo(Duration.ofMinutes(2));
    assertThat(c.cache().maxSize()).isEqualTo(1L << 30);
    assertThat(c.cache().maxEntrySize()).isEqualTo(4L << 20);
    assertThat(c.cache().maxAge()).isEqualTo(Duration.ofSeconds(30));
    assertThat(c.cache().staleWhileRevalidate()).isEqualTo(Duration.ofMinutes(1));
    assertThat(c.cache().channel()).isNull();
    assertThat(s.logLevel()).isEqualTo(LogLevel.WARN);
    assertThat(s.logFormat()).isEqualTo(LogFormat.TEXT);
    assertThat(s.configFile()).isEqualTo("s.yaml");
    for (Flag f : Flag.values()) {
      if (f != Flag.CONFIG) {
        assertThat(s.origin(f)).as(f.name()).isEqualTo(Origin.file("s.yaml"));
      }
    }
  }

  @Test
  void flagBeatsEnvironmentBeatsFileBeatsDefault() {
    ConfigFile file = new ConfigFile("s.yaml", Map.of(Flag.POOL_SIZE, "30", Flag.MIN_IDLE, "1"));
    Map<String, String> env = Map.of("DATABASE_URL", URL, "SLUICE_POOL_SIZE", "50");

    CliSettings fromFile = ConfigAssembler.assemble(flags(), Map.of("DATABASE_URL", URL), file);
    CliSettings fromEnv = ConfigAssembler.assemble(flags(), env, file);
    CliSettings fromFlag = ConfigAssembler.assemble(flags(Flag.POOL_SIZE, "7"), env, file);

    assertThat(fromFile.config().poolSize()).isEqualTo(30);
    assertThat(fromFile.origin(Flag.POOL_SIZE)).isEqualTo(Origin.file("s.yaml"));
    assertThat(fromEnv.config().poolSize()).isEqualTo(50);
    assertThat(fromEnv.origin(Flag.POOL_SIZE)).isEqualTo(Origin.env("SLUICE_POOL_SIZE"));
    assertThat(fromFlag.config().poolSize()).isEqualTo(7);
    assertThat(fromFlag.origin(Flag.POOL_SIZE)).isEqualTo(Origin.flag(Flag.POOL_SIZE));
    assertThat(fromFlag.config().minIdle()).isEqualTo(1);
    assertThat(fromFlag.origin(Flag.MAX_POOLS)).isEqualTo(Origin.DEFAULT);
  }

  @Test
  void aBlankVariableLeavesTheFileValueInForce() {
    ConfigFile file = new ConfigFile("s.yaml", Map.of(Flag.POOL_SIZE, "30"));

    CliSettings s =
        ConfigAssembler.assemble(
            flags(), Map.of("DATABASE_URL", URL, "SLUICE_POOL_SIZE", " "), file);

    assertThat(s.config().poolSize()).isEqualTo(30);
  }

  @Test
  void theFilesUpstreamComesAfterDatabaseUrlButBeforeLibpqVariables() {
    ConfigFile file = new ConfigFile("s.yaml", Map.of(Flag.UPSTREAM, "postgres://f:pw@file/db"));
    Map<String, String> libpq = Map.of("PGHOST", "pghost", "PGUSER", "u");
    Map<String, String> both =
        Map.of("DATABASE_URL", "postgres://d@database-url/db", "PGHOST", "x");

    assertThat(ConfigAssembler.assemble(flags(), libpq, file).config().upstream().primary().host())
        .isEqualTo("file");
    assertThat(ConfigAssembler.assemble(flags(), both, file).config().upstream().primary().host())
        .isEqualTo("database-url");
    assertThat(ConfigAssembler.assemble(flags(), libpq, ConfigFile.NONE).origin(Flag.UPSTREAM))
        .isEqualTo(Origin.env("PG*"));
  }

  @Test
  void errorsFromTheFileNameTheKeyAndTheFile() {
    ConfigFile file = new ConfigFile("/etc/sluice/sluice.yaml", Map.of(Flag.ACQUIRE_TIMEOUT, "30"));

    assertThatThrownBy(() -> ConfigAssembler.assemble(flags(Flag.UPSTREAM, URL), Map.of(), file))
        .hasMessage(
            "invalid value for acquire-timeout in /etc/sluice/sluice.yaml: '30' (expected a number"
                + " with a unit: ms, s, m, h or d, for example 500ms, 30s, 10m)");
  }

  @Test
  void blankVariablesAreUnsetButAnEmptyResetQueryDisablesIt() {
    Map<String, String> env =
        Map.of(
            "DATABASE_URL", URL,
            "SLUICE_POOL_SIZE", "",
            "SLUICE_LISTEN", "  ",
            "SLUICE_SERVER_RESET_QUERY", "");

    ProxyConfig c = assemble(flags(), env).config();

    assertThat(c.poolSize()).isEqualTo(20);
    assertThat(c.listen().port()).isEqualTo(6432);
    assertThat(c.serverResetQuery()).isEmpty();
  }

  @Test
  void emptyResetQueryFlagDisablesIt() {
    assertThat(
            assemble(flags(Flag.UPSTREAM, URL, Flag.SERVER_RESET_QUERY, ""), Map.of())
                .config()
                .serverResetQuery())
        .isEmpty();
  }

  @Test
  void upstreamFlagBeatsEveryVariable() {
    Map<String, String> env =
        Map.of(
            "SLUICE_UPSTREAM", "postgres://a@sluice-env/db",
            "DATABASE_URL", "postgres://b@database-url/db",
            "PGHOST", "pghost",
            "PGUSER", "c");

    assertThat(host(flags(Flag.UPSTREAM, "host=flag user=f"), env)).isEqualTo("flag");
    assertThat(host(flags(), env)).isEqualTo("sluice-env");
  }

  @Test
  void upstreamFromLibpqVariables() {
    Map<String, String> env =
        Map.of("PGHOST", "pg.internal", "PGPORT", "5433", "PGUSER", "u", "PGPASSWORD", "pw");

    ProxyConfig c = assemble(flags(), env).config();

    assertThat(c.upstream().primary()).isEqualTo(new HostAndPort("pg.internal", 5433));
    assertThat(c.upstream().password()).isEqualTo("pw");
  }

  @Test
  void sizesInPostgresqlUnits() {
    assertThat(size("1048576")).isEqualTo(1 << 20);
    assertThat(size("64kB")).isEqualTo(64 << 10);
    assertThat(size("128MB")).isEqualTo(128 << 20);
    assertThat(size("1 GB")).isEqualTo(1 << 30);
    assertThat(size("2048B")).isEqualTo(2048);
  }

  @Test
  void errorsFromVariablesNameTheVariable() {
    Map<String, String> env = Map.of("DATABASE_URL", URL, "SLUICE_ACQUIRE_TIMEOUT", "0s");

    assertThatThrownBy(() -> assemble(flags(), env))
        .hasMessage(
            "invalid value for SLUICE_ACQUIRE_TIMEOUT: '0s' (expected a positive duration such as"
                + " 30s)");
  }

  @Test
  void defaultsRenderForHelp() {
    assertThat(Flag.POOL_SIZE.defaultText()).isEqualTo("20");
    assertThat(Flag.MAX_MESSAGE_SIZE.defaultText()).isEqualTo("128MB");
    assertThat(Flag.SERVER_IDLE_TIMEOUT.defaultText()).isEqualTo("10m");
    assertThat(Flag.LISTEN.defaultText()).isEqualTo("127.0.0.1:6432");
    assertThat(Flag.POOL_SIZE.envVar()).isEqualTo("SLUICE_POOL_SIZE");
    assertThat(Flag.MAX_CLIENT_CONNECTIONS.envVar()).isEqualTo("SLUICE_MAX_CLIENT_CONNECTIONS");
  }

  private static int size(String text) {
    return assemble(flags(Flag.UPSTREAM, URL, Flag.MAX_MESSAGE_SIZE, text), Map.of())
        .config()
        .maxMessageSize();
  }

  private static String host(Map<Flag, String> flags, Map<String, String> env) {
    return assemble(flags, env).config().upstream().primary().host();
  }
}
