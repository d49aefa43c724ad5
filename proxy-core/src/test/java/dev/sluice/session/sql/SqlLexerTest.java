package dev.sluice.session.sql;

import static dev.sluice.session.sql.SqlToken.Kind.IDENTIFIER;
import static dev.sluice.session.sql.SqlToken.Kind.NUMBER;
import static dev.sluice.session.sql.SqlToken.Kind.PARAM;
import static dev.sluice.session.sql.SqlToken.Kind.PUNCTUATION;
import static dev.sluice.session.sql.SqlToken.Kind.STRING;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class SqlLexerTest {

  /** Tokens as "KIND:text" (quoted identifiers as "QIDENT:text") for compact assertions. */
  private static List<String> lex(String sql) {
    return describe(SqlLexer.tokenize(sql));
  }

  private static List<String> lex(String sql, boolean standardConformingStrings) {
    List<SqlToken> tokens = new ArrayList<>();
    SqlLexer lexer = new SqlLexer(sql, standardConformingStrings);
    while (lexer.next()) {
      tokens.add(lexer.token());
    }
    return describe(tokens);
  }

  private static List<String> describe(List<SqlToken> tokens) {
    return tokens.stream()
        .map(t -> (t.quoted() ? "QIDENT" : t.kind().name()) + ":" + t.text())
        .collect(Collectors.toList());
  }

  private static List<String> statementTexts(String sql) {
    return SqlLexer.statements(sql).stream()
        .map(s -> sql.substring(s.get(0).start(), s.get(s.size() - 1).end()))
        .collect(Collectors.toList());
  }

  @Test
  void wordsFoldToLowerCaseUnlessQuoted() {
    assertThat(lex("SeLeCt Foo, \"Foo\", \"a\"\"b\""))
        .containsExactly(
            "IDENTIFIER:select",
            "IDENTIFIER:foo",
            "PUNCTUATION:,",
            "QIDENT:Foo",
            "PUNCTUATION:,",
            "QIDENT:a\"b");
  }

  @Test
  void onlyAsciiLettersFoldAndNonAsciiCharactersArePartOfWords() {
    assertThat(lex("ÉTÉ Äb")).containsExactly("IDENTIFIER:ÉtÉ", "IDENTIFIER:Äb");
  }

  @Test
  void dollarSignsInsideWordsBelongToTheWord() {
    assertThat(lex("a$b x$$y$$")).containsExactly("IDENTIFIER:a$b", "IDENTIFIER:x$$y$$");
  }

  @Test
  void identifiersAreTruncatedTo63BytesWithoutSplittingACharacter() {
    String longName = "a".repeat(70);
    assertThat(SqlLexer.tokenize(longName).get(0).text()).isEqualTo("a".repeat(63));
    String wide = "é".repeat(40); // two bytes each
    assertThat(SqlLexer.tokenize("\"" + wide + "\"").get(0).text()).isEqualTo("é".repeat(31));
  }

  @Test
  void lineAndNestedBlockCommentsAreSkipped() {
    assertThat(lex("a -- b ; c\n d /* e /* f */ g ; */ h"))
        .containsExactly("IDENTIFIER:a", "IDENTIFIER:d", "IDENTIFIER:h");
    assertThat(lex("SET/**/x")).containsExactly("IDENTIFIER:set", "IDENTIFIER:x");
    assertThat(lex("a/*/ still comment */b")).containsExactly("IDENTIFIER:a", "IDENTIFIER:b");
  }

  @Test
  void standardStringsUndoubleQuotesAndKeepBackslashes() {
    assertThat(lex("'it''s' 'a\\'")).containsExactly("STRING:it's", "STRING:a\\");
  }

  @Test
  void withStandardConformingStringsOffBackslashesEscapeInPlainStrings() {
    assertThat(lex("'a\\'b' x", false)).containsExactly("STRING:a'b", "IDENTIFIER:x");
  }

  @Test
  void escapeStringsDecodeBackslashEscapes() {
    assertThat(lex("E'\\'' e'a\\nb' E'\\x41\\101\\u0042\\U00000043\\q'"))
        .containsExactly("STRING:'", "STRING:a\nb", "STRING:AABCq");
    assertThat(lex("E'\\303\\251' E'\\uD83D\\uDE00' E'it''s'"))
        .containsExactly("STRING:é", "STRING:\uD83D\uDE00", "STRING:it's");
  }

  @Test
  void escapeStringsDoNotEndAtAnEscapedQuote() {
    assertThat(lex("SELECT E'\\'; SET ROLE x; --'; y"))
        .containsExactly(
            "IDENTIFIER:select", "STRING:'; SET ROLE x; --", "PUNCTUATION:;", "IDENTIFIER:y");
  }

  @Test
  void stringsSeparatedByALineBreakAreOneLiteral() {
    assertThat(lex("'foo'\n  'bar'")).containsExactly("STRING:foobar");
    assertThat(lex("'foo' -- c\n'bar'")).containsExactly("STRING:foobar");
    assertThat(lex("E'a\\n'\n'\\n'")).containsExactly("STRING:a\n\n");
    assertThat(lex("'foo' 'bar'")).containsExactly("STRING:foo", "STRING:bar");
    assertThat(lex("'foo' /* c */\n'bar'")).containsExactly("STRING:foo", "STRING:bar");
  }

  @Test
  void prefixedStrings() {
    assertThat(lex("B'0101' X'1F' N'n' b 'x'"))
        .containsExactly("STRING:0101", "STRING:1F", "STRING:n", "IDENTIFIER:b", "STRING:x");
    assertThat(lex("abe'x'")).containsExactly("IDENTIFIER:abe", "STRING:x");
  }

  @Test
  void unicodeStringsAndIdentifiersWithOptionalUescape() {
    assertThat(lex("U&'d\\0061t\\+000061' u&\"d\\0061t\\\\\""))
        .containsExactly("STRING:data", "QIDENT:dat\\");
    assertThat(lex("U&'d!0061t' UESCAPE '!' x")).containsExactly("STRING:dat", "IDENTIFIER:x");
    assertThat(lex("U&\"set\\005fconfig\"")).containsExactly("QIDENT:set_config");
    assertThat(lex("u & 'x'")).containsExactly("IDENTIFIER:u", "PUNCTUATION:&", "STRING:x");
  }

  @Test
  void dollarQuotedStringsHideEverythingUpToTheirTag() {
    assertThat(lex("$$a;'b$$ $tag$ $$ ; LISTEN x $tag$ $Tag$x$Tag$"))
        .containsExactly("STRING:a;'b", "STRING: $$ ; LISTEN x ", "STRING:x");
    assertThat(lex("$a$ $ab$ $b$ $a$")).containsExactly("STRING: $ab$ $b$ ");
  }

  @Test
  void aDollarNotStartingATagIsPunctuationOrAParameter() {
    assertThat(lex("$1 $23x $ab c $"))
        .containsExactly(
            "PARAM:$1",
            "PARAM:$23",
            "IDENTIFIER:x",
            "PUNCTUATION:$",
            "IDENTIFIER:ab",
            "IDENTIFIER:c",
            "PUNCTUATION:$");
  }

  @Test
  void numbers() {
    assertThat(lex("1 1.5 .5 1e10 1.e-3 0x1F 0b101 1_000 1..2"))
        .containsExactly(
            "NUMBER:1",
            "NUMBER:1.5",
            "NUMBER:.5",
            "NUMBER:1e10",
            "NUMBER:1.e-3",
            "NUMBER:0x1F",
            "NUMBER:0b101",
            "NUMBER:1_000",
            "NUMBER:1",
            "PUNCTUATION:..",
            "NUMBER:2");
  }

  @Test
  void operatorsFollowPostgresRules() {
    assertThat(lex("a::int b := c <> d => e=-1 f@-1"))
        .containsExactly(
            "IDENTIFIER:a",
            "PUNCTUATION:::",
            "IDENTIFIER:int",
            "IDENTIFIER:b",
            "PUNCTUATION::=",
            "IDENTIFIER:c",
            "PUNCTUATION:<>",
            "IDENTIFIER:d",
            "PUNCTUATION:=>",
            "IDENTIFIER:e",
            "PUNCTUATION:=",
            "PUNCTUATION:-",
            "NUMBER:1",
            "IDENTIFIER:f",
            "PUNCTUATION:@-",
            "NUMBER:1");
  }

  @Test
  void anOperatorStopsWhereACommentStarts() {
    assertThat(lex("a=-- c\n1 b+/* c */2"))
        .containsExactly(
            "IDENTIFIER:a",
            "PUNCTUATION:=",
            "NUMBER:1",
            "IDENTIFIER:b",
            "PUNCTUATION:+",
            "NUMBER:2");
  }

  @Test
  void tokensKnowWhereTheyAre() {
    List<SqlToken> tokens = SqlLexer.tokenize("SET  x = 'v'");
    assertThat(tokens)
        .extracting(SqlToken::kind)
        .containsExactly(IDENTIFIER, IDENTIFIER, PUNCTUATION, STRING);
    assertThat(tokens).extracting(SqlToken::start).containsExactly(0, 5, 7, 9);
    assertThat(tokens).extracting(SqlToken::end).containsExactly(3, 6, 8, 12);
    assertThat(SqlLexer.tokenize("$1 1")).extracting(SqlToken::kind).containsExactly(PARAM, NUMBER);
  }

  @Test
  void cursorComparesWordsWithoutAllocating() {
    SqlLexer lexer = new SqlLexer("SeT \"set\" (");
    assertThat(lexer.next()).isTrue();
    assertThat(lexer.isWord("set")).isTrue();
    assertThat(lexer.next()).isTrue();
    assertThat(lexer.isWord("set")).isFalse();
    assertThat(lexer.quoted()).isTrue();
    assertThat(lexer.next()).isTrue();
    assertThat(lexer.isPunctuation('(')).isTrue();
    assertThat(lexer.next()).isFalse();
  }

  @Test
  void tokenToStringOmitsTheText() {
    assertThat(SqlLexer.tokenize("'secret'").get(0).toString()).doesNotContain("secret");
  }

  @Test
  void unterminatedLiteralsAndCommentsRunToTheEnd() {
    assertThat(lex("SELECT 'abc; SET ROLE x"))
        .containsExactly("IDENTIFIER:select", "STRING:abc; SET ROLE x");
    assertThat(lex("SELECT \"abc; x")).containsExactly("IDENTIFIER:select", "QIDENT:abc; x");
    assertThat(lex("SELECT E'abc\\")).containsExactly("IDENTIFIER:select", "STRING:abc\\");
    assertThat(lex("SELECT $q$ abc; x")).containsExactly("IDENTIFIER:select", "STRING: abc; x");
    assertThat(lex("SELECT /* a /* b */ ; SET ROLE x")).containsExactly("IDENTIFIER:select");
    assertThat(lex("SELECT -- x")).containsExactly("IDENTIFIER:select");
    assertThat(lex("U&'abc' UESCAPE")).containsExactly("STRING:abc", "IDENTIFIER:uescape");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "SELECT 'abc",
        "SELECT 'abc''",
        "SELECT 'a'\n'b",
        "SELECT E'abc\\'",
        "SELECT \"abc",
        "SELECT \"abc\"\"",
        "SELECT $q$ abc $q",
        "SELECT $$",
        "SELECT 1 /* a /* b */",
        "SELECT U&'x' UESCAPE '!",
      })
  void textEndingInsideALiteralOrCommentIsUnterminated(String sql) {
    assertThat(endsInside(sql)).isTrue();
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "SELECT 'abc'",
        "SELECT 'abc'''",
        "SELECT E'abc\\\\'",
        "SELECT \"abc\"\"\"",
        "SELECT $q$ abc $q$",
        "SELECT $$$$",
        "SELECT 1 /* a /* b */ */",
        "SELECT 1 -- /* no block comment here",
        "SELECT 'it''s' -- '",
      })
  void closedLiteralsAndCommentsAreNotUnterminated(String sql) {
    assertThat(endsInside(sql)).isFalse();
  }

  @Test
  void leadingCommentsAreTheCommentsBeforeTheFirstToken() {
    assertThat(SqlLexer.leadingComments(" /* a /* b */ c */ -- d\n/**/SELECT /* e */ 1"))
        .containsExactly(" a /* b */ c ", " d", "");
    assertThat(SqlLexer.leadingComments("SELECT 1 /* a */")).isEmpty();
    assertThat(SqlLexer.leadingComments("/* a */ /* never closed")).containsExactly(" a ");
    assertThat(SqlLexer.leadingComments("-- only a comment")).containsExactly(" only a comment");
  }

  private static boolean endsInside(String sql) {
    SqlLexer lexer = new SqlLexer(sql);
    while (lexer.next()) {
      // read to the end
    }
    return lexer.unterminated();
  }

  @Test
  void emptyAndBlankInputHaveNoTokens() {
    assertThat(SqlLexer.tokenize("")).isEmpty();
    assertThat(SqlLexer.tokenize(" \n\t -- c\n /* c */")).isEmpty();
    assertThat(SqlLexer.statements("")).isEmpty();
    assertThat(SqlLexer.statements(" ; ;; ")).isEmpty();
  }

  @Test
  void statementsSplitOnSemicolonsOutsideLiteralsAndComments() {
    String sql = "SELECT 1; SELECT ';' /* ; */ -- ;\n; SELECT $$;$$ ;; SELECT \"a;b\"";
    assertThat(statementTexts(sql))
        .containsExactly("SELECT 1", "SELECT ';'", "SELECT $$;$$", "SELECT \"a;b\"");
  }

  @Test
  void semicolonsInsideParenthesesDoNotSplit() {
    String sql = "CREATE RULE r AS ON INSERT TO t DO ALSO (NOTIFY a; NOTIFY b); SELECT 1";
    assertThat(statementTexts(sql))
        .containsExactly(
            "CREATE RULE r AS ON INSERT TO t DO ALSO (NOTIFY a; NOTIFY b)", "SELECT 1");
  }

  @Test
  void anAtomicRoutineBodyIsOneStatement() {
    String sql =
        "CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC"
            + " SELECT CASE WHEN true THEN 1 END; SELECT 2; END; SET x = 1";
    assertThat(statementTexts(sql)).hasSize(2).last().isEqualTo("SET x = 1");
    assertThat(statementTexts("CREATE PROCEDURE p() BEGIN ATOMIC INSERT INTO t VALUES (1); END"))
        .hasSize(1);
  }

  @Test
  void beginOutsideAnAtomicBodyDoesNotHoldStatementsTogether() {
    assertThat(statementTexts("CREATE FUNCTION begin() RETURNS int AS $$ SELECT 1 $$; SET x = 1"))
        .hasSize(2);
    assertThat(statementTexts("BEGIN; SELECT 1; END; COMMIT")).hasSize(4);
    assertThat(statementTexts("CREATE TABLE t (begin int); SET x = 1")).hasSize(2);
  }

  @Test
  void randomTextNeverThrowsAndYieldsOrderedNonEmptyTokens() {
    String alphabet = "aZe_$1.'\"\\-/*;:()[]=+- \n\tU&EBx\u00e9";
    Random random = new Random(42);
    for (int round = 0; round < 5_000; round++) {
      StringBuilder sb = new StringBuilder();
      int length = random.nextInt(40);
      for (int i = 0; i < length; i++) {
        sb.append(alphabet.charAt(random.nextInt(alphabet.length())));
      }
      String sql = sb.toString();
      assertThatCode(
              () -> {
                int previousEnd = 0;
                for (SqlToken t : SqlLexer.tokenize(sql)) {
                  assertThat(t.start()).isGreaterThanOrEqualTo(previousEnd);
                  assertThat(t.end()).isGreaterThan(t.start()).isLessThanOrEqualTo(sql.length());
                  previousEnd = t.end();
                }
                SqlLexer.statements(sql, false);
              })
          .as("input %s", sql)
          .doesNotThrowAnyException();
    }
  }
}
