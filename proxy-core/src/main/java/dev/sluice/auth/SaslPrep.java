package dev.sluice.auth;

import java.text.Normalizer;
import java.util.Arrays;
import java.util.Objects;

/**
 * SASLprep (RFC 4013) of a SCRAM password, exactly as PostgreSQL applies it ({@code
 * src/common/saslprep.c}), so that keys Sluice derives agree with the ones libpq and the server
 * derive from the same password.
 *
 * <p>PostgreSQL's rules, which this class follows:
 *
 * <ul>
 *   <li>a pure ASCII password is used as it is, control characters included;
 *   <li>otherwise non-ASCII spaces (RFC 3454 C.1.2) become U+0020, the "commonly mapped to nothing"
 *       characters (B.1) are removed, and the result is NFKC-normalised;
 *   <li>if the mapped password is empty, or contains a prohibited (C.1.2, C.2 to C.9) or, in
 *       Unicode 3.2, unassigned (A.1) code point, or breaks the bidirectional rules of RFC 3454
 *       section 6, the <em>original</em> password is used instead. PostgreSQL does not refuse such
 *       a password; it just skips the preparation.
 * </ul>
 *
 * <p>Like PostgreSQL (and unlike the letter of RFC 4013, which checks the normalised string), the
 * prohibition and bidirectional checks look at the mapped string before normalisation. Reproducing
 * that is what matters: a deviation would make a password work directly against PostgreSQL but fail
 * through Sluice. A Java string with an unpaired surrogate is not valid UTF-8, which PostgreSQL
 * also answers by using the password unchanged.
 */
public final class SaslPrep {
  private SaslPrep() {}

  /**
   * The prepared form of {@code password}, or {@code password} itself where PostgreSQL keeps it.
   */
  public static String prepare(String password) {
    Objects.requireNonNull(password, "password");
    if (isAscii(password) || hasUnpairedSurrogate(password)) {
      return password;
    }
    int[] mapped = map(password);
    if (mapped.length == 0 || hasProhibited(mapped) || violatesBidiRules(mapped)) {
      return password;
    }
    return Normalizer.normalize(new String(mapped, 0, mapped.length), Normalizer.Form.NFKC);
  }

  /** RFC 4013 section 2.1: non-ASCII spaces to U+0020, "commonly mapped to nothing" removed. */
  private static int[] map(String password) {
    int[] codePoints = password.codePoints().toArray();
    int n = 0;
    for (int cp : codePoints) {
      // U+200B is in both tables; PostgreSQL checks spaces first, so it becomes a space.
      if (StringPrepTables.NON_ASCII_SPACE.contains(cp)) {
        codePoints[n++] = ' ';
      } else if (!StringPrepTables.MAPPED_TO_NOTHING.contains(cp)) {
        codePoints[n++] = cp;
      }
    }
    return Arrays.copyOf(codePoints, n);
  }

  private static boolean hasProhibited(int[] codePoints) {
    for (int cp : codePoints) {
      if (StringPrepTables.PROHIBITED.contains(cp) || StringPrepTables.UNASSIGNED.contains(cp)) {
        return true;
      }
    }
    return false;
  }

  /**
   * RFC 3454 section 6: a string with any RandALCat character must contain no LCat character and
   * must begin and end with a RandALCat character.
   */
  private static boolean violatesBidiRules(int[] codePoints) {
    boolean anyRandAl = false;
    boolean anyL = false;
    for (int cp : codePoints) {
      anyRandAl |= StringPrepTables.RAND_AL_CAT.contains(cp);
      anyL |= StringPrepTables.L_CAT.contains(cp);
    }
    if (!anyRandAl) {
      return false;
    }
    return anyL
        || !StringPrepTables.RAND_AL_CAT.contains(codePoints[0])
        || !StringPrepTables.RAND_AL_CAT.contains(codePoints[codePoints.length - 1]);
  }

  private static boolean isAscii(String s) {
    for (int i = 0; i < s.length(); i++) {
      if (s.charAt(i) > 0x7F) {
        return false;
      }
    }
    return true;
  }

  private static boolean hasUnpairedSurrogate(String s) {
    // String.codePoints() passes a lone surrogate through as its own value.
    return s.codePoints()
        .anyMatch(cp -> cp >= Character.MIN_SURROGATE && cp <= Character.MAX_SURROGATE);
  }
}
