package dev.sluice.server.invalidation;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.Upstream;
import dev.sluice.config.UpstreamUrl;
import java.util.Properties;
import org.junit.jupiter.api.Test;

class UpstreamJdbcTest {
  private static Upstream parse(String uri) {
    return UpstreamUrl.parse("--upstream", uri);
  }

  @Test
  void everyHostGoesIntoTheUrlAndOnlyAPrimaryWillDo() {
    Upstream up = parse("postgres://app:pw@db1:5433,[::1]:5434,db3/my%20db");
    assertThat(UpstreamJdbc.url(up))
        .isEqualTo("jdbc:postgresql://db1:5433,[::1]:5434,db3:5432/my%20db");
    Properties p = UpstreamJdbc.properties(up);
    assertThat(p.getProperty("targetServerType")).isEqualTo("primary");
    assertThat(p.getProperty("user")).isEqualTo("app");
    assertThat(p.getProperty("password")).isEqualTo("pw");
    assertThat(p.getProperty("ApplicationName")).isEqualTo("sluice-cache-invalidation");
    assertThat(p.getProperty("sslmode")).isEqualTo("prefer");
    assertThat(p.getProperty("connectTimeout")).isEqualTo("10");
  }

  @Test
  void libpqParametersArePassedOn() {
    Properties p =
        UpstreamJdbc.properties(
            parse("postgres://app@db/app?connect_timeout=3&options=-c%20search_path%3Dx"));
    assertThat(p.getProperty("connectTimeout")).isEqualTo("3");
    assertThat(p.getProperty("options")).isEqualTo("-c search_path=x");
    assertThat(p.getProperty("password")).isNull();
  }

  @Test
  void sslModesKeepLibpqMeanings() {
    Properties require = UpstreamJdbc.properties(parse("postgres://app@db/app?sslmode=require"));
    assertThat(require.getProperty("sslmode")).isEqualTo("require");
    assertThat(require.getProperty("sslfactory")).isNull();

    Properties requireWithRoot =
        UpstreamJdbc.properties(parse("postgres://app@db/app?sslmode=require&sslrootcert=/ca.pem"));
    assertThat(requireWithRoot.getProperty("sslmode")).isEqualTo("verify-ca");
    assertThat(requireWithRoot.getProperty("sslrootcert")).isEqualTo("/ca.pem");

    Properties fullWithJdkRoots =
        UpstreamJdbc.properties(parse("postgres://app@db/app?sslmode=verify-full"));
    assertThat(fullWithJdkRoots.getProperty("sslmode")).isEqualTo("verify-full");
    assertThat(fullWithJdkRoots.getProperty("sslfactory"))
        .isEqualTo("org.postgresql.ssl.DefaultJavaSSLFactory");

    Properties disabled = UpstreamJdbc.properties(parse("postgres://app@db/app?sslmode=disable"));
    assertThat(disabled.getProperty("sslmode")).isEqualTo("disable");
  }

  @Test
  void theReplicationSessionSpeaksSimpleQueryToAWalsender() {
    Properties p = UpstreamJdbc.replicationProperties(parse("postgres://app:pw@db/app"));
    assertThat(p.getProperty("replication")).isEqualTo("database");
    assertThat(p.getProperty("preferQueryMode")).isEqualTo("simple");
    assertThat(p.getProperty("assumeMinServerVersion")).isEqualTo("10");
    assertThat(p.getProperty("socketTimeout")).isNull();
    assertThat(p.getProperty("targetServerType")).isEqualTo("primary");
  }
}
