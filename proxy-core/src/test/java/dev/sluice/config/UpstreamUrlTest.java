package dev.sluice.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.config.Upstream.SslMode;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class UpstreamUrlTest {

  private static Upstream parse(String text) {
    return UpstreamUrl.parse("--upstream", text);
  }

  private static HostAndPort hp(String host, int port) {
    return new HostAndPort(host, port);
  }

  @Nested
  class Uri {
    @Test
    void readsEveryPart() {
      Upstream u = parse("postgres://alice:s3cret@db.example.com:6543/app?sslmode=require");

      assertThat(u.hosts()).containsExactly(hp("db.example.com", 6543));
      assertThat(u.user()).isEqualTo("alice");
      assertThat(u.password()).isEqualTo("s3cret");
      assertThat(u.database()).isEqualTo("app");
      assertThat(u.sslMode()).isEqualTo(SslMode.REQUIRE);
      assertThat(u.parameters()).isEmpty();
    }

    @Test
    void postgresqlSchemeWithDefaultsForPortDatabaseAndSslMode() {
      Upstream u = parse("postgresql://bob@db");

      assertThat(u.hosts()).containsExactly(hp("db", 5432));
      assertThat(u.password()).isNull();
      assertThat(u.database()).isEqualTo("bob");
      assertThat(u.sslMode()).isEqualTo(SslMode.PREFER);
    }

    @Test
    void missingHostMeansLocalhost() {
      assertThat(parse("postgres:///app?user=u").hosts()).containsExactly(hp("localhost", 5432));
      assertThat(parse("postgres://u@:5433/app").hosts()).containsExactly(hp("localhost", 5433));
    }

    @Test
    void percentDecodesEveryComponentAndKeepsPlus() {
      Upstream u =
          parse(
              "postgres://al%40ice:p%40ss%2Fw%3Ard+x@db%2Dhost/my%20db"
                  + "?options=-c%20search_path%3Dapp&application_name=a%26b");

      assertThat(u.user()).isEqualTo("al@ice");
      assertThat(u.password()).isEqualTo("p@ss/w:rd+x");
      assertThat(u.hosts()).containsExactly(hp("db-host", 5432));
      assertThat(u.database()).isEqualTo("my db");
      assertThat(u.parameters())
          .containsEntry("options", "-c search_path=app")
          .containsEntry("application_name", "a&b");
    }

    @Test
    void decodesUtf8() {
      assertThat(parse("postgres://u@h/caf%C3%A9").database()).isEqualTo("café");
    }

    @Test
    void passwordWithUnencodedAtAndSlashStillParses() {
      Upstream u = parse("postgres://u:p@ss/w0rd@h:5433/db");

      assertThat(u.password()).isEqualTo("p@ss/w0rd");
      assertThat(u.hosts()).containsExactly(hp("h", 5433));
      assertThat(u.database()).isEqualTo("db");
    }

    @Test
    void bracketedIpv6WithAndWithoutPort() {
      assertThat(parse("postgres://u@[::1]:5433/db").hosts()).containsExactly(hp("::1", 5433));
      assertThat(parse("postgres://u@[2001:db8::7]/db").hosts())
          .containsExactly(hp("2001:db8::7", 5432));
      assertThat(parse("postgres://u@[fe80::1%25eth0]:5433/db").hosts())
          .containsExactly(hp("fe80::1%eth0", 5433));
    }

    @Test
    void multipleHostsEachWithItsOwnPortOrTheDefault() {
      Upstream u = parse("postgres://u@h1:5432,[::1]:5433,h3/db");

      assertThat(u.hosts()).containsExactly(hp("h1", 5432), hp("::1", 5433), hp("h3", 5432));
      assertThat(u.primary()).isEqualTo(hp("h1", 5432));
    }

    @Test
    void queryParametersOverrideTheUriParts() {
      Upstream u =
          parse(
              "postgres://u:pw@h/db?host=a,b&port=6000&user=v&password=other&dbname=x"
                  + "&sslmode=verify-full");

      assertThat(u.hosts()).containsExactly(hp("a", 6000), hp("b", 6000));
      assertThat(u.user()).isEqualTo("v");
      assertThat(u.password()).isEqualTo("other");
      assertThat(u.database()).isEqualTo("x");
      assertThat(u.sslMode()).isEqualTo(SslMode.VERIFY_FULL);
    }

    @Test
    void keepsLibpqAndUnknownParameters() {
      Upstream u =
          parse(
              "postgres://u@h/db?application_name=web&connect_timeout=5"
                  + "&target_session_attrs=read-write&options=-c%20x%3D1&keepalives=1");

      assertThat(u.parameters())
          .containsOnly(
              Map.entry("application_name", "web"),
              Map.entry("connect_timeout", "5"),
              Map.entry("target_session_attrs", "read-write"),
              Map.entry("options", "-c x=1"),
              Map.entry("keepalives", "1"));
    }

    @Test
    void sslTrueMeansRequireAsInLibpq() {
      assertThat(parse("postgres://u@h/db?ssl=true").sslMode()).isEqualTo(SslMode.REQUIRE);
    }

    @Test
    void emptyPasswordMeansNone() {
      assertThat(parse("postgres://u:@h/db").password()).isNull();
    }
  }

  @Nested
  class KeyValue {
    @Test
    void readsEveryKeyword() {
      Upstream u =
          parse(
              "host=db.internal port=6543 user=alice password='quoted \\' value'"
                  + " dbname=app sslmode=disable application_name=web");

      assertThat(u.hosts()).containsExactly(hp("db.internal", 6543));
      assertThat(u.user()).isEqualTo("alice");
      assertThat(u.password()).isEqualTo("quoted ' value");
      assertThat(u.database()).isEqualTo("app");
      assertThat(u.sslMode()).isEqualTo(SslMode.DISABLE);
      assertThat(u.parameters()).containsOnly(Map.entry("application_name", "web"));
    }

    @Test
    void spacesAroundEqualsAndBackslashesAsLibpq() {
      Upstream u = parse("  user = bob   password = a\\ b\\\\c  dbname='' ");

      assertThat(u.user()).isEqualTo("bob");
      assertThat(u.password()).isEqualTo("a b\\c");
      assertThat(u.database()).isEqualTo("bob");
      assertThat(u.hosts()).containsExactly(hp("localhost", 5432));
    }

    @Test
    void quotedValueMayHoldSpacesAndEquals() {
      Upstream u = parse("user=u options='-c search_path=a,b'");

      assertThat(u.parameters()).containsEntry("options", "-c search_path=a,b");
    }

    @Test
    void hostAndPortListsPairUp() {
      Upstream u = parse("host=h1,h2,::1 port=5432,5433,5434 user=u");

      assertThat(u.hosts()).containsExactly(hp("h1", 5432), hp("h2", 5433), hp("::1", 5434));
    }

    @Test
    void onePortAppliesToEveryHost() {
      assertThat(parse("host=h1,h2 port=7000 user=u").hosts())
          .containsExactly(hp("h1", 7000), hp("h2", 7000));
    }

    @Test
    void hostaddrStandsInForAMissingHost() {
      assertThat(parse("hostaddr=10.1.2.3 user=u").hosts()).containsExactly(hp("10.1.2.3", 5432));
    }
  }

  @Nested
  class Errors {
    private static String message(String text) {
      try {
        parse(text);
      } catch (ConfigException e) {
        assertThat(e.key()).isEqualTo("--upstream");
        return e.getMessage();
      }
      throw new AssertionError("accepted: " + text);
    }

    @Test
    void unknownSslModeShowsTheMaskedText() {
      assertThat(message("postgres://u:secret@h/db?sslmode=bogus"))
          .isEqualTo(
              "invalid value for --upstream: 'postgres://u:****@h/db?sslmode=bogus'"
                  + " (sslmode 'bogus': expected disable, allow, prefer, require, verify-ca or"
                  + " verify-full)");
      assertThat(message("user=u password=secret sslmode=bogus"))
          .isEqualTo(
              "invalid value for --upstream: 'user=u password=**** sslmode=bogus'"
                  + " (sslmode 'bogus': expected disable, allow, prefer, require, verify-ca or"
                  + " verify-full)");
    }

    @Test
    void malformedPort() {
      assertThat(message("postgres://u:secret@h:abc/db"))
          .isEqualTo(
              "invalid value for --upstream: 'postgres://u:****@h:abc/db'"
                  + " (port 'abc': expected a number between 1 and 65535)");
      assertThat(message("postgres://u@h:70000/db")).contains("port '70000'");
      assertThat(message("host=h port=0 user=u")).contains("port '0'");
    }

    @Test
    void unbracketedIpv6GetsAHint() {
      assertThat(message("postgres://u@::1:5432/db")).contains("IPv6 addresses need brackets");
    }

    @Test
    void missingUser() {
      assertThat(message("postgres://h/db"))
          .isEqualTo("invalid value for --upstream: 'postgres://h/db' (a user is required)");
      assertThat(message("host=h dbname=d")).endsWith("(a user is required)");
      assertThat(message("")).endsWith("(a user is required)");
    }

    @Test
    void unixSocketsAreRefused() {
      assertThat(message("postgres://u@%2Fvar%2Frun%2Fpostgresql/db"))
          .contains("Unix-domain sockets are not supported");
      assertThat(message("host=/tmp user=u")).contains("Unix-domain sockets are not supported");
    }

    @Test
    void portsThatCannotPairWithHosts() {
      assertThat(message("host=a,b,c port=1,2 user=u"))
          .contains("port '1,2': 2 ports for 3 hosts; give one port, or one per host");
    }

    @Test
    void badPercentEncoding() {
      assertThat(message("postgres://u@h/d%zzb")).contains("bad percent-encoding");
      assertThat(message("postgres://u@h/d%00b")).contains("bad percent-encoding");
      assertThat(message("postgres://u@h/db%4")).contains("bad percent-encoding");
    }

    @Test
    void otherSchemes() {
      assertThat(message("jdbc:postgresql://h/db"))
          .contains("expected a postgres:// or postgresql:// URI, or key=value pairs");
      assertThat(message("mysql://u@h/db")).contains("expected a postgres://");
    }

    @Test
    void malformedKeyValue() {
      assertThat(message("host=h user")).contains("expected keyword=value pairs");
      assertThat(message("=x user=u")).contains("expected keyword=value pairs");
      assertThat(message("user=u options='unterminated")).endsWith("(unterminated quoted value)");
    }

    @Test
    void malformedQuery() {
      assertThat(message("postgres://u@h/db?sslmode")).contains("expected name=value");
      assertThat(message("postgres://u@h/db?ssl=1")).contains("only ssl=true is understood");
    }

    @Test
    void validatesConnectTimeoutAndTargetSessionAttrs() {
      assertThat(message("postgres://u@h/db?connect_timeout=soon"))
          .contains("connect_timeout 'soon': expected a whole number of seconds");
      assertThat(message("postgres://u@h/db?target_session_attrs=master"))
          .contains("target_session_attrs 'master': expected any, read-write");
    }

    /** Whatever is wrong, the password never reaches the message. */
    @ParameterizedTest
    @ValueSource(
        strings = {
          "postgres://u:SECRET@h:abc/db",
          "postgres://u:SECRET@h/db?sslmode=nope",
          "postgresql://u:SECRET@h1,h2:x/db",
          "postgres://u@h:abc/db?password=SECRET",
          "postgres://u@h/db?password=SECRET&sslmode=nope",
          "postgres://u:SEC%zzRET@h/db",
          "postgres://u:pa/SECRET@h:x/db",
          "postgres://u:SE?CRET@h/db",
          "postgres://u:SE@CRET@h/db?ssl=false",
          "postgres://u:SECRET@/db?port=x",
          "host=h port=abc user=u password=SECRET",
          "host=h user=u password='SECRET",
          "host=h user=u password='SE\\'CRET' sslmode=x",
          "user=u password=SE CRET port=x",
          "user=u password SECRET host=h",
          "user=u PASSWORD=SECRET port=-1",
          "host=/tmp user=u password=SECRET",
        })
    void neverShowsThePassword(String text) {
      assertThatThrownBy(() -> parse(text))
          .isInstanceOf(ConfigException.class)
          .satisfies(
              e ->
                  assertThat(e.getMessage())
                      .doesNotContain("SECRET")
                      .doesNotContain("CRET")
                      .doesNotContain("SEC%zz"));
    }
  }

  @Nested
  class Environment {
    @Test
    void nothingSetMeansNoUpstream() {
      assertThat(UpstreamUrl.fromEnvironment(Map.of())).isEmpty();
      assertThat(UpstreamUrl.fromEnvironment(Map.of("PGPASSWORD", "x", "USER", "me"))).isEmpty();
    }

    @Test
    void sluiceUpstreamBeatsDatabaseUrlBeatsPgVariables() {
      Map<String, String> env =
          Map.of(
              "SLUICE_UPSTREAM", "postgres://a@one/db",
              "DATABASE_URL", "postgres://b@two/db",
              "PGHOST", "three",
              "PGUSER", "c");

      assertThat(host(env)).isEqualTo("one");
      assertThat(host(without(env, "SLUICE_UPSTREAM"))).isEqualTo("two");
      assertThat(host(Map.of("PGHOST", "three", "PGUSER", "c"))).isEqualTo("three");
    }

    @Test
    void blankVariablesCountAsUnset() {
      Map<String, String> env =
          Map.of("SLUICE_UPSTREAM", " ", "DATABASE_URL", "", "PGHOST", "three", "PGUSER", "c");

      assertThat(host(env)).isEqualTo("three");
    }

    @Test
    void databaseUrlMayBeKeyValue() {
      assertThat(host(Map.of("DATABASE_URL", "host=kv user=u"))).isEqualTo("kv");
    }

    @Test
    void readsEveryLibpqVariable() {
      Map<String, String> env =
          Map.of(
              "PGHOST", "h1,h2",
              "PGPORT", "5433",
              "PGUSER", "app",
              "PGPASSWORD", "pw",
              "PGDATABASE", "appdb",
              "PGSSLMODE", "verify-ca",
              "PGAPPNAME", "web",
              "PGCONNECT_TIMEOUT", "3");

      Upstream u = UpstreamUrl.fromEnvironment(env).orElseThrow();

      assertThat(u.hosts()).containsExactly(hp("h1", 5433), hp("h2", 5433));
      assertThat(u.user()).isEqualTo("app");
      assertThat(u.password()).isEqualTo("pw");
      assertThat(u.database()).isEqualTo("appdb");
      assertThat(u.sslMode()).isEqualTo(SslMode.VERIFY_CA);
      assertThat(u.parameters())
          .containsOnly(Map.entry("application_name", "web"), Map.entry("connect_timeout", "3"));
    }

    @Test
    void pgUserFallsBackToUserAndHostToLocalhost() {
      Upstream u = UpstreamUrl.fromEnvironment(Map.of("PGHOST", "db", "USER", "me")).orElseThrow();
      assertThat(u.user()).isEqualTo("me");

      Upstream local = UpstreamUrl.fromEnvironment(Map.of("PGUSER", "me")).orElseThrow();
      assertThat(local.hosts()).containsExactly(hp("localhost", 5432));
    }

    @Test
    void errorsNameTheVariable() {
      assertThatThrownBy(
              () ->
                  UpstreamUrl.fromEnvironment(
                      Map.of("PGHOST", "h", "PGUSER", "u", "PGPORT", "abc")))
          .hasMessage("invalid value for PGPORT: 'abc' (expected a number between 1 and 65535)")
          .extracting(e -> ((ConfigException) e).key())
          .isEqualTo("PGPORT");
      assertThatThrownBy(
              () -> UpstreamUrl.fromEnvironment(Map.of("PGUSER", "u", "PGSSLMODE", "maybe")))
          .hasMessageStartingWith("invalid value for PGSSLMODE: 'maybe' (expected disable");
      assertThatThrownBy(() -> UpstreamUrl.fromEnvironment(Map.of("PGHOST", "h")))
          .hasMessage("invalid value for PGUSER: '' (a user is required)");
      assertThatThrownBy(
              () -> UpstreamUrl.fromEnvironment(Map.of("DATABASE_URL", "postgres://u:pw@h:x/d")))
          .hasMessageStartingWith("invalid value for DATABASE_URL: 'postgres://u:****@h:x/d'");
      assertThatThrownBy(
              () ->
                  UpstreamUrl.fromEnvironment(
                      Map.of("SLUICE_UPSTREAM", "postgres://h/d", "DATABASE_URL", "x")))
          .hasMessageStartingWith("invalid value for SLUICE_UPSTREAM:");
    }

    @Test
    void pgPasswordNeverAppearsInErrors() {
      assertThatThrownBy(
              () ->
                  UpstreamUrl.fromEnvironment(
                      Map.of("PGUSER", "u", "PGPORT", "x", "PGPASSWORD", "SECRET")))
          .satisfies(e -> assertThat(e.getMessage()).doesNotContain("SECRET"));
    }

    private String host(Map<String, String> env) {
      Optional<Upstream> u = UpstreamUrl.fromEnvironment(env);
      return u.orElseThrow().primary().host();
    }

    private Map<String, String> without(Map<String, String> env, String key) {
      return env.entrySet().stream()
          .filter(e -> !e.getKey().equals(key))
          .collect(java.util.stream.Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue));
    }
  }

  @Test
  void maskHidesPasswordsInBothForms() {
    assertThat(UpstreamUrl.mask("postgres://u:pw@h/db?password=x&sslmode=require"))
        .isEqualTo("postgres://u:****@h/db?password=****&sslmode=require");
    assertThat(UpstreamUrl.mask("host=h password='a b' user=u"))
        .isEqualTo("host=h password=**** user=u");
    assertThat(UpstreamUrl.mask("postgres://u@h/db")).isEqualTo("postgres://u@h/db");
    assertThat(List.of(UpstreamUrl.mask(null))).containsExactly("");
  }
}
