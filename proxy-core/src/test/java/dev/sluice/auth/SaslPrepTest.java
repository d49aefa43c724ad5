package dev.sluice.auth;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class SaslPrepTest {

  @Test
  void asciiIsReturnedUnchangedEvenWithControlCharacters() {
    assertThat(SaslPrep.prepare("pencil")).isEqualTo("pencil");
    assertThat(SaslPrep.prepare("tab\there")).isEqualTo("tab\there");
    assertThat(SaslPrep.prepare("")).isEmpty();
  }

  @Test
  void nonAsciiSpacesBecomeSpaces() {
    assertThat(SaslPrep.prepare("a\u00A0b")).isEqualTo("a b");
    assertThat(SaslPrep.prepare("a\u3000b\u2003c")).isEqualTo("a b c");
  }

  @Test
  void zeroWidthSpaceIsASpaceNotNothing() {
    // U+200B is in C.1.2 and in B.1; PostgreSQL tests the space table first.
    assertThat(SaslPrep.prepare("a\u200Bb")).isEqualTo("a b");
  }

  @Test
  void commonlyMappedToNothingIsRemoved() {
    assertThat(SaslPrep.prepare("I\u00ADX")).isEqualTo("IX");
    assertThat(SaslPrep.prepare("p\uFEFFw\u00E9")).isEqualTo("pw\u00E9");
  }

  @Test
  void compatibilityCharactersAreNfkcNormalised() {
    assertThat(SaslPrep.prepare("\u2168")).isEqualTo("IX");
    assertThat(SaslPrep.prepare("\u00AA")).isEqualTo("a");
    assertThat(SaslPrep.prepare("e\u0301t\u00E9")).isEqualTo("\u00E9t\u00E9");
  }

  @Test
  void prohibitedCharacterKeepsTheOriginalPassword() {
    assertThat(SaslPrep.prepare("\u2168\u0007")).isEqualTo("\u2168\u0007"); // C.2.1
    assertThat(SaslPrep.prepare("\u2168\u0085")).isEqualTo("\u2168\u0085"); // C.2.2
    assertThat(SaslPrep.prepare("\u2168\uE000")).isEqualTo("\u2168\uE000"); // C.3
    assertThat(SaslPrep.prepare("\u2168\uFFFD")).isEqualTo("\u2168\uFFFD"); // C.6
    assertThat(SaslPrep.prepare("\u2168\u200E")).isEqualTo("\u2168\u200E"); // C.8
    assertThat(SaslPrep.prepare("\u2168\uDB40\uDC01")).isEqualTo("\u2168\uDB40\uDC01"); // C.9
  }

  @Test
  void prohibitionIsCheckedBeforeNormalisationLikePostgres() {
    // U+0340 (C.8) normalises to the allowed U+0300; PostgreSQL still rejects it.
    assertThat(SaslPrep.prepare("a\u0340")).isEqualTo("a\u0340");
  }

  @Test
  void codePointUnassignedInUnicode32KeepsTheOriginalPassword() {
    assertThat(SaslPrep.prepare("\u2168\u0221")).isEqualTo("\u2168\u0221");
    assertThat(SaslPrep.prepare("\u2168\uD83D\uDE00")).isEqualTo("\u2168\uD83D\uDE00");
  }

  @Test
  void rightToLeftTextMustNotMixWithLeftToRight() {
    // Alef, digit one, beh: RandALCat at both ends, no LCat.
    assertThat(SaslPrep.prepare("\u0627\u0031\u0628")).isEqualTo("\u0627\u0031\u0628");
    // Roman numeral nine is LCat, so the string stays as it was instead of becoming "IX".
    assertThat(SaslPrep.prepare("\u0627\u2168\u0628")).isEqualTo("\u0627\u2168\u0628");
    // RandALCat present but not last: unchanged, with U+00A0 not mapped.
    assertThat(SaslPrep.prepare("\u0627\u00A01")).isEqualTo("\u0627\u00A01");
  }

  @Test
  void passwordMappedToNothingAtAllIsKept() {
    assertThat(SaslPrep.prepare("\u00AD")).isEqualTo("\u00AD");
  }

  @Test
  void unpairedSurrogateIsInvalidUtf8AndKept() {
    assertThat(SaslPrep.prepare("\uD800\u00A0")).isEqualTo("\uD800\u00A0");
  }
}
