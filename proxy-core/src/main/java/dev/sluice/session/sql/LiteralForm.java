package dev.sluice.session.sql;

/** How the source text of a word or literal token turns into its value. */
enum LiteralForm {
  /** An unquoted word: ASCII letters fold to lower case. */
  WORD,
  /** {@code "..."} with {@code ""} for a quote. */
  QUOTED_IDENTIFIER,
  /** {@code U&"..."} with Unicode escapes. */
  UNICODE_IDENTIFIER,
  /** {@code '...'} with {@code ''} for a quote, when standard_conforming_strings is on. */
  STANDARD,
  /**
   * {@code E'...'}, or {@code '...'} when standard_conforming_strings is off: backslash escapes.
   */
  ESCAPE,
  /** {@code U&'...'} with Unicode escapes. */
  UNICODE,
  /** {@code B'...'} and {@code X'...'}: the digits as written. */
  BITS,
  /** {@code $tag$...$tag$}: the body as written. */
  DOLLAR,
  /** Numbers, parameters and punctuation: the source text. */
  OTHER
}
