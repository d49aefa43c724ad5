package dev.sluice.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class ScramCredentialsTest {
  private static final Base64.Decoder B64 = Base64.getDecoder();
  private static final byte[] MOCK_SECRET =
      "0123456789abcdef0123456789abcdef".getBytes(StandardCharsets.US_ASCII);

  /**
   * Secrets PostgreSQL 15.18 stored in pg_authid.rolpassword after {@code CREATE ROLE ... PASSWORD}
   * with password_encryption = scram-sha-256. Besides plain ASCII they cover each way SASLprep can
   * go: mapped and normalised, or kept raw for a prohibited, unassigned or bidi-violating password.
   */
  static Stream<Arguments> postgresSecrets() {
    return Stream.of(
        Arguments.of(
            "ascii",
            "pencil",
            "SCRAM-SHA-256$4096:jXrirU3BjgR67ujYA0qOuQ=="
                + "$XAO78akesypumq76KBwK1Wey1uVCCAe1S6FL4eyGSLU="
                + ":NF4TOqFugLLaCKMsnwlhdC2Mjfux6kZfX7/TSNTmda0="),
        Arguments.of(
            "space mapped, NFKC",
            "pass\u00A0word\u2168",
            "SCRAM-SHA-256$4096:dCCY0/KFyuqsFji5UOAW1w=="
                + "$0rHl9Skjc0cZjtDtcdXcQTfgTejJ9ronvOWAAnCaRBY="
                + ":gVAVckWypE58pJ1dXespN9+zsCC/h/9hj7vkxD9MxWA="),
        Arguments.of(
            "mapped to nothing",
            "I\u00ADX",
            "SCRAM-SHA-256$4096:nNAj9+YJEZFtbRc/pyWHJg=="
                + "$+YigAHSQAKuRZAFe2tSi09EFExmGKVeZM54sP6WS/oI="
                + ":5d18XAtgn+ruzrLDVtBZtiy4bohNHTbF5e/LirfwsCE="),
        Arguments.of(
            "prohibited before normalisation",
            "a\u0340",
            "SCRAM-SHA-256$4096:rdSDu/bqGSsM0G6sjL4EGw=="
                + "$Bdmgs/tH+xi33eh+yx1uTELpfQU34eMasvgeOz+ZPEI="
                + ":hUzpVmdRkVoiWMdxlKKBDff8TIrwdlRKqN+6q41ALBU="),
        Arguments.of(
            "unassigned in Unicode 3.2",
            "\u2168\u0221",
            "SCRAM-SHA-256$4096:nGNfcuLHjXyzCVGh29YBWA=="
                + "$PqBbWQRka//HTpeyu9rVyrU0uWc5swfSiX3ak6RTf3I="
                + ":Ts2QbitJvVkK7wI9jcLNG7DdNf0X8oSGQz1qyKGFCdc="),
        Arguments.of(
            "bidi violation",
            "\u0627\u2168\u0628",
            "SCRAM-SHA-256$4096:Tb0Ovx8OjspcCrm0Nsk3MA=="
                + "$WBksS/X3tCgqKDDMuu8SMecjXYgwv2useB2MXjlmEsQ="
                + ":K44amOwvrlmdstSPrvqXpNqmRor4dTorJe4WzPOA/Z8="));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("postgresSecrets")
  void derivesTheSecretPostgresStores(String label, String password, String rolpassword) {
    // SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>
    String[] parts = rolpassword.split("[$:]");
    byte[] salt = B64.decode(parts[2]);
    int iterations = Integer.parseInt(parts[1]);

    ScramCredentials credentials = ScramCredentials.derive(password, salt, iterations);

    assertThat(credentials.salt()).isEqualTo(salt);
    assertThat(credentials.iterations()).isEqualTo(iterations);
    assertThat(credentials.storedKey()).isEqualTo(B64.decode(parts[3]));
    assertThat(credentials.serverKey()).isEqualTo(B64.decode(parts[4]));
  }

  @Test
  void defaultDerivationUsesARandomSixteenByteSaltAnd4096Iterations() {
    ScramCredentials a = ScramCredentials.derive("secret");
    ScramCredentials b = ScramCredentials.derive("secret");
    assertThat(a.salt()).hasSize(16);
    assertThat(a.iterations()).isEqualTo(4096);
    assertThat(a.salt()).isNotEqualTo(b.salt());
    assertThat(a.storedKey()).isNotEqualTo(b.storedKey());
  }

  @Test
  void accessorsReturnCopies() {
    ScramCredentials c = ScramCredentials.derive("secret", new byte[] {1, 2, 3}, 2);
    c.salt()[0] = 9;
    c.storedKey()[0] ^= 1;
    c.serverKey()[0] ^= 1;
    assertThat(c.salt()).containsExactly(1, 2, 3);
    assertThat(c.storedKey()).isEqualTo(ScramCredentials.derive("secret", c.salt(), 2).storedKey());
    assertThat(c.serverKey()).isEqualTo(ScramCredentials.derive("secret", c.salt(), 2).serverKey());
  }

  @Test
  void toStringRevealsNoKey() {
    ScramCredentials c = ScramCredentials.derive("secret");
    String shown = c.toString();
    assertThat(shown).contains("4096");
    assertThat(shown)
        .doesNotContain(Base64.getEncoder().encodeToString(c.storedKey()))
        .doesNotContain(Base64.getEncoder().encodeToString(c.serverKey()))
        .doesNotContain("secret");
  }

  @Test
  void mockIsStableForAUserAndLooksLikeARealSecret() {
    ScramCredentials first = ScramCredentials.mock("nobody", MOCK_SECRET);
    ScramCredentials again = ScramCredentials.mock("nobody", MOCK_SECRET);
    assertThat(again.salt()).isEqualTo(first.salt());
    assertThat(again.storedKey()).isEqualTo(first.storedKey());
    assertThat(first.salt()).hasSize(ScramCredentials.DEFAULT_SALT_LENGTH);
    assertThat(first.iterations()).isEqualTo(ScramCredentials.DEFAULT_ITERATIONS);
    assertThat(first.storedKey()).hasSize(32);
    assertThat(first.serverKey()).hasSize(32).isNotEqualTo(first.storedKey());
  }

  @Test
  void mockDependsOnUserAndSecret() {
    byte[] otherSecret = "fedcba9876543210fedcba9876543210".getBytes(StandardCharsets.US_ASCII);
    byte[] salt = ScramCredentials.mock("nobody", MOCK_SECRET).salt();
    assertThat(ScramCredentials.mock("somebody", MOCK_SECRET).salt()).isNotEqualTo(salt);
    assertThat(ScramCredentials.mock("nobody", otherSecret).salt()).isNotEqualTo(salt);
  }

  @Test
  void rejectsWhatPostgresWouldNeverStore() {
    assertThatThrownBy(() -> ScramCredentials.derive(""))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> ScramCredentials.derive("x", new byte[0], 4096))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> ScramCredentials.derive("x", new byte[16], 0))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> ScramCredentials.mock("nobody", new byte[8]))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
