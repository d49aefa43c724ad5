package dev.sluice.server;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The admin port's status page at {@code GET /}: one static HTML file with its CSS and script
 * inline, read from the classpath once when the admin port starts. The page polls the JSON views
 * ({@code /health}, {@code /stats}) from the same origin and draws their history itself.
 *
 * <p>Its Content-Security-Policy lets nothing load or run but the page's own inline {@code <style>}
 * and {@code <script>} blocks, named by their SHA-256 hashes computed here from the very bytes
 * served, and same-origin fetches. An edit to the page can therefore never leave the policy behind,
 * and a script injected into it would not run.
 */
final class StatusPage {
  static final String CONTENT_TYPE = "text/html; charset=utf-8";
  private static final String RESOURCE = "status.html";
  private static final Pattern SCRIPT = Pattern.compile("<script>(.*?)</script>", Pattern.DOTALL);
  private static final Pattern STYLE = Pattern.compile("<style>(.*?)</style>", Pattern.DOTALL);

  private final byte[] html;
  private final Map<String, String> headers;

  private StatusPage(byte[] html, String contentSecurityPolicy) {
    this.html = html;
    Map<String, String> h = new LinkedHashMap<>();
    h.put("Content-Security-Policy", contentSecurityPolicy);
    h.put("Referrer-Policy", "no-referrer");
    h.put("X-Frame-Options", "DENY");
    this.headers = Map.copyOf(h);
  }

  /** Reads the page from the classpath; a page missing from the jar is a build error. */
  static StatusPage load() {
    try (InputStream in = StatusPage.class.getResourceAsStream(RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException("the status page " + RESOURCE + " is not on the classpath");
      }
      return of(in.readAllBytes());
    } catch (IOException e) {
      throw new UncheckedIOException("reading the status page " + RESOURCE, e);
    }
  }

  static StatusPage of(byte[] html) {
    String text = new String(html, StandardCharsets.UTF_8);
    String csp =
        "default-src 'none'; script-src "
            + hashes(SCRIPT, text)
            + "; style-src "
            + hashes(STYLE, text)
            + "; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none';"
            + " frame-ancestors 'none'";
    return new StatusPage(html, csp);
  }

  /** The page's bytes, shared: callers wrap them and never write to them. */
  byte[] html() {
    return html;
  }

  /** Headers the page is served with, besides its type, length and {@code no-store}. */
  Map<String, String> headers() {
    return headers;
  }

  /** The CSP source list naming each inline block {@code block} matches, by its SHA-256. */
  private static String hashes(Pattern block, String page) {
    List<String> out = new ArrayList<>();
    Matcher m = block.matcher(page);
    while (m.find()) {
      out.add("'sha256-" + sha256(m.group(1)) + "'");
    }
    return out.isEmpty() ? "'none'" : String.join(" ", out);
  }

  private static String sha256(String s) {
    try {
      MessageDigest d = MessageDigest.getInstance("SHA-256");
      return Base64.getEncoder().encodeToString(d.digest(s.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
  }
}
