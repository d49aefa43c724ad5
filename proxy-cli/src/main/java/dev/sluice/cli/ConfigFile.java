package dev.sluice.cli;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import java.io.IOException;
import java.util.Collections;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;

/**
 * A parsed config file: one YAML mapping of flag names to values ({@code pool-size: 20}). Values
 * are kept as the text written, whatever YAML would type them as, and go through the same parsers
 * as flags; a key with no value ({@code pool-size:}) is left unset. Anything else (a key no flag
 * has, a list or mapping as a value, a second document, a key twice) is refused with one line
 * naming the file, so a typo cannot silently leave a default in force.
 */
record ConfigFile(String path, Map<Flag, String> values) {
  /** No config file: every value comes from flags, the environment or the defaults. */
  static final ConfigFile NONE = new ConfigFile(null, Map.of());

  private static final YAMLFactory YAML = new YAMLFactory();
  private static final Pattern PLAIN_ALIAS_OR_ANCHOR = Pattern.compile("[^:#]+:\\s*[*&].*");

  ConfigFile {
    values = Collections.unmodifiableMap(values.isEmpty() ? Map.of() : new EnumMap<>(values));
  }

  /**
   * @param path the file's name as the operator gave it, used in errors and by {@code check-config}
   * @param text the file's content
   * @throws UsageException naming the file and what is wrong with it
   */
  static ConfigFile parse(String path, String text) {
    Map<Flag, String> values = new EnumMap<>(Flag.class);
    Set<String> keys = new HashSet<>();
    try (JsonParser p = YAML.createParser(text)) {
      JsonToken top = p.nextToken();
      if (top == null || top == JsonToken.VALUE_NULL) {
        return new ConfigFile(path, values); // empty, or only comments
      }
      if (top != JsonToken.START_OBJECT) {
        throw error(path, "expected 'key: value' lines, found " + shape(top, p));
      }
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String key = p.currentName();
        Flag flag = flagFor(path, key);
        JsonToken value = p.nextToken();
        if (value == JsonToken.START_OBJECT || value == JsonToken.START_ARRAY) {
          throw error(path, key + ": expected a single value, found " + shape(value, p));
        }
        if (p instanceof YAMLParser yaml && yaml.isCurrentAlias()) {
          throw error(
              path,
              key
                  + ": a YAML alias (*"
                  + p.getText()
                  + ") is not a value here; quote a value that starts with *");
        }
        if (!keys.add(key)) {
          throw error(path, "key '" + key + "' appears twice");
        }
        if (value != JsonToken.VALUE_NULL) {
          values.put(flag, p.getText());
        }
      }
      if (p.nextToken() != null) {
        throw error(path, "expected one YAML document, found more");
      }
    } catch (JsonProcessingException e) {
      throw error(path, malformed(e, text));
    } catch (IOException e) {
      throw new IllegalStateException("reading a string cannot fail", e);
    }
    return new ConfigFile(path, values);
  }

  private static Flag flagFor(String path, String key) {
    Flag flag = Flag.byFileKey(key);
    if (flag != null) {
      return flag;
    }
    String nearest = Suggestions.nearest(key, Flag.values());
    throw error(
        path,
        "unknown key '" + key + "'" + (nearest == null ? "" : " (did you mean " + nearest + "?)"));
  }

  private static String shape(JsonToken token, JsonParser p) throws IOException {
    return switch (token) {
      case START_ARRAY -> "a list";
      case START_OBJECT -> "a mapping";
      default -> "the single value '" + p.getText() + "'";
    };
  }

  /**
   * The YAML parser's complaint and where: its own message runs over several lines. A plain value
   * starting with {@code *} or {@code &} (an alias or anchor to YAML) gets a hint, since {@code
   * allow-databases: *} is an easy thing to write.
   */
  private static String malformed(JsonProcessingException e, String text) {
    if (e.getCause() instanceof MarkedYAMLException yaml && yaml.getProblemMark() != null) {
      Mark mark = yaml.getProblemMark();
      String line = text.lines().skip(mark.getLine()).findFirst().orElse("");
      boolean aliasLike = PLAIN_ALIAS_OR_ANCHOR.matcher(line).matches();
      return "not valid YAML at line "
          + (mark.getLine() + 1)
          + ", column "
          + (mark.getColumn() + 1)
          + ": "
          + yaml.getProblem().replaceAll("\\p{Cntrl}", "").replaceAll(" {2,}", " ").strip()
          + (aliasLike
              ? " (quote a value that starts with * or &, as in allow-databases: \"*\")"
              : "");
    }
    JsonLocation at = e.getLocation();
    String problem = e.getOriginalMessage().lines().findFirst().orElse("unreadable");
    return at == null
        ? "not valid YAML: " + problem
        : "not valid YAML at line "
            + at.getLineNr()
            + ", column "
            + at.getColumnNr()
            + ": "
            + problem;
  }

  private static UsageException error(String path, String problem) {
    return new UsageException(path + ": " + problem);
  }
}
