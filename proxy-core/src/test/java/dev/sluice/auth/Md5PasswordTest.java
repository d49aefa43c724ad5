package dev.sluice.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class Md5PasswordTest {
  private static final byte[] SALT = {0x0a, 0x0b, 0x0c, 0x0d};

  @Test
  void responseBuildsOnTheSecretPostgresStores() {
    // PostgreSQL 15 stored "md5fd41c4ce1263ab3d793a89188654862b" for role sluice_md5 with password
    // 'password'; the expected response was computed from it with Python's hashlib.
    assertThat(Md5Password.hash("sluice_md5", "password", SALT))
        .isEqualTo("md5d37cf7c126a267ded57a93e667d07ff1");
  }

  @Test
  void hashMatchesIndependentComputation() {
    // python3: "md5" + md5(md5(b"passworduser").hexdigest().encode() + bytes([1, 2, 3, 4]))
    assertThat(Md5Password.hash("user", "password", new byte[] {1, 2, 3, 4}))
        .isEqualTo("md5a3576f1ae039b8996bc4fc2720f9c71a");
  }

  @Test
  void nonAsciiUserAndPasswordAreUtf8() {
    byte[] salt = {(byte) 0xde, (byte) 0xad, (byte) 0xbe, (byte) 0xef};
    assertThat(Md5Password.hash("j\u00fcrgen", "p\u00e4ssword", salt))
        .isEqualTo("md5786af78351fa01e3f1219f5ebb7e7316");
  }

  @Test
  void verifyAcceptsOnlyTheExactResponse() {
    String good = Md5Password.hash("sluice_md5", "password", SALT);
    assertThat(Md5Password.verify("sluice_md5", "password", SALT, good)).isTrue();
    assertThat(Md5Password.verify("sluice_md5", "password", SALT, good.toUpperCase())).isFalse();
    assertThat(Md5Password.verify("sluice_md5", "wrong", SALT, good)).isFalse();
    assertThat(Md5Password.verify("other", "password", SALT, good)).isFalse();
    assertThat(Md5Password.verify("sluice_md5", "password", new byte[] {1, 2, 3, 4}, good))
        .isFalse();
    assertThat(Md5Password.verify("sluice_md5", "password", SALT, "")).isFalse();
    assertThat(Md5Password.verify("sluice_md5", "password", SALT, null)).isFalse();
  }

  @Test
  void saltMustBeFourBytes() {
    assertThatThrownBy(() -> Md5Password.hash("u", "p", new byte[3]))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("4 bytes");
  }
}
