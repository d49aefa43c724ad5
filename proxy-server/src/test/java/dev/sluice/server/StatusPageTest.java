package dev.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Base64;
import org.junit.jupiter.api.Test;

class StatusPageTest {
  @Test
  void thePolicyNamesExactlyThePagesOwnInlineBlocks() throws Exception {
    StatusPage page =
        StatusPage.of(
            "<html><style>p{}</style><script>go()</script><script>more()</script></html>"
                .getBytes(StandardCharsets.UTF_8));
    assertThat(page.headers().get("Content-Security-Policy"))
        .startsWith("default-src 'none'; ")
        .contains("script-src 'sha256-" + sha256("go()") + "' 'sha256-" + sha256("more()") + "';")
        .contains("style-src 'sha256-" + sha256("p{}") + "';");
  }

  @Test
  void aPageWithoutScriptMayRunNone() {
    StatusPage page = StatusPage.of("<p>hi</p>".getBytes(StandardCharsets.UTF_8));
    assertThat(page.headers().get("Content-Security-Policy"))
        .contains("script-src 'none';")
        .contains("style-src 'none';");
  }

  @Test
  void theShippedPageLoadsNothingFromElsewhere() {
    String html = new String(StatusPage.load().html(), StandardCharsets.UTF_8);
    assertThat(html)
        .contains("<script>")
        .doesNotContain("<script src")
        .doesNotContain("http://")
        .doesNotContain("https://")
        .doesNotContainPattern("(src|href)=\"(?!data:)")
        .doesNotContain("style=\"");
  }

  private static String sha256(String s) throws Exception {
    return Base64.getEncoder()
        .encodeToString(
            MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
  }
}
