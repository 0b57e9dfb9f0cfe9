package io.opsscaffold.settings;

import io.helidon.config.Config;
import io.helidon.config.ConfigSources;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Supplier;

/**
 * Strict, typed reading of one YAML configuration file, with environment variables and system
 * properties overriding it (Helidon's mapping: {@code SERVER_PORT} overrides {@code server.port},
 * {@code LINK_OFFLINE__GRACE} overrides {@code link.offline-grace}).
 *
 * <p>Each read names a key and a default; a bad value is recorded as a problem naming the key and
 * the default is used. {@link #finish()} adds every key present in the file that nothing read
 * (a typo, a key of another version) and throws one {@link SettingsException} listing them all, so
 * a person fixes a file in one pass. Not thread-safe: read everything in {@code main}, then finish.
 */
public final class Settings {
  private final String source;
  private final Config effective;
  private final Config fileOnly;
  private final String prefix;
  private final Set<String> consumed;
  private final List<String> problems;

  private Settings(
      String source, Config effective, Config fileOnly, String prefix, Set<String> consumed,
      List<String> problems) {
    this.source = source;
    this.effective = effective;
    this.fileOnly = fileOnly;
    this.prefix = prefix;
    this.consumed = consumed;
    this.problems = problems;
  }

  /**
   * Loads {@code file} (YAML) under environment and system-property overrides; a missing file
   * is fine when {@code required} is false (every key then has its default).
   */
  public static Settings load(Optional<Path> file, boolean required) {
    List<Supplier<? extends io.helidon.config.spi.ConfigSource>> sources = new ArrayList<>();
    List<String> problems = new ArrayList<>();
    String source = file.map(Path::toString).orElse("(defaults)");
    Config fileOnly = Config.empty();
    if (file.isPresent()) {
      if (Files.isRegularFile(file.get())) {
        sources.add(ConfigSources.file(file.get()));
        try {
          fileOnly =
              Config.builder(ConfigSources.file(file.get()))
                  .disableEnvironmentVariablesSource()
                  .disableSystemPropertiesSource()
                  .build();
          fileOnly.traverse().count();
        } catch (RuntimeException e) {
          throw new SettingsException(source, List.of("cannot parse the file: " + e.getMessage()));
        }
      } else if (required) {
        throw new SettingsException(source, List.of("the file does not exist"));
      }
    }
    Config effective =
        Config.builder()
            .sources(sources.isEmpty() ? List.of(ConfigSources::empty) : sources)
            .build();
    return new Settings(source, effective, fileOnly, "", new TreeSet<>(), problems);
  }

  /** Settings from an in-memory YAML text; for tests. */
  public static Settings ofYaml(String yaml) {
    Supplier<io.helidon.config.spi.ConfigSource> src =
        () -> ConfigSources.create(yaml, io.helidon.common.media.type.MediaTypes.APPLICATION_YAML);
    Config only =
        Config.builder(src).disableEnvironmentVariablesSource().disableSystemPropertiesSource().build();
    return new Settings("(inline)", only, only, "", new TreeSet<>(), new ArrayList<>());
  }

  private String full(String key) {
    return prefix.isEmpty() ? key : prefix + "." + key;
  }

  private Config node(String key) {
    consumed.add(full(key));
    return effective.get(full(key));
  }

  /** Records a problem with {@code key}; for checks that span keys. */
  public void problem(String key, String message) {
    problems.add(full(key) + ": " + message);
  }

  public boolean has(String key) {
    return effective.get(full(key)).exists();
  }

  public String string(String key, String defaultValue) {
    Config c = node(key);
    if (!c.exists()) {
      return defaultValue;
    }
    if (!c.isLeaf()) {
      problem(key, "must be a single value, not a list or a section");
      return defaultValue;
    }
    return c.asString().orElse(defaultValue);
  }

  /** A non-empty string, or a problem "is required". */
  public String requiredString(String key) {
    String v = string(key, "");
    if (v.isBlank()) {
      problem(key, "is required");
    }
    return v;
  }

  public int integer(String key, int defaultValue, int min, int max) {
    String text = string(key, null);
    if (text == null) {
      return defaultValue;
    }
    try {
      int v = Integer.parseInt(text.trim());
      if (v < min || v > max) {
        problem(key, "must be between " + min + " and " + max + " (got " + v + ")");
        return defaultValue;
      }
      return v;
    } catch (NumberFormatException e) {
      problem(key, "must be a whole number (got '" + text + "')");
      return defaultValue;
    }
  }

  public long longValue(String key, long defaultValue) {
    String text = string(key, null);
    if (text == null) {
      return defaultValue;
    }
    try {
      return Long.parseLong(text.trim());
    } catch (NumberFormatException e) {
      problem(key, "must be a whole number (got '" + text + "')");
      return defaultValue;
    }
  }

  public boolean bool(String key, boolean defaultValue) {
    String text = string(key, null);
    if (text == null) {
      return defaultValue;
    }
    return switch (text.trim().toLowerCase(java.util.Locale.ROOT)) {
      case "true", "yes", "on" -> true;
      case "false", "no", "off" -> false;
      default -> {
        problem(key, "must be true or false (got '" + text + "')");
        yield defaultValue;
      }
    };
  }

  /** A duration such as "500ms", "10s", "5m"; must lie in [min, max]. */
  public Duration duration(String key, Duration defaultValue, Duration min, Duration max) {
    String text = string(key, null);
    if (text == null) {
      return defaultValue;
    }
    try {
      Duration d = DurationText.parse(text);
      if (d.compareTo(min) < 0 || d.compareTo(max) > 0) {
        problem(key, "must be between " + DurationText.format(min) + " and "
            + DurationText.format(max) + " (got " + text + ")");
        return defaultValue;
      }
      return d;
    } catch (IllegalArgumentException e) {
      problem(key, e.getMessage());
      return defaultValue;
    }
  }

  /** One of {@code allowed} (exact, lower case in files); a problem lists them otherwise. */
  public String oneOf(String key, String defaultValue, List<String> allowed) {
    String v = string(key, defaultValue);
    if (!allowed.contains(v)) {
      problem(key, "must be one of " + String.join(", ", allowed) + " (got '" + v + "')");
      return defaultValue;
    }
    return v;
  }

  /** A list of strings; a single value is a list of one. */
  public List<String> strings(String key) {
    Config c = node(key);
    markSubtree(full(key));
    if (!c.exists()) {
      return List.of();
    }
    if (c.isLeaf()) {
      return List.of(c.asString().orElse(""));
    }
    try {
      return c.asList(String.class).get();
    } catch (RuntimeException e) {
      problem(key, "must be a list of strings");
      return List.of();
    }
  }

  /** A map of strings (e.g. environment variables or labels). */
  public Map<String, String> stringMap(String key) {
    Config c = node(key);
    markSubtree(full(key));
    Map<String, String> map = new LinkedHashMap<>();
    if (!c.exists()) {
      return map;
    }
    if (c.type() != Config.Type.OBJECT) {
      problem(key, "must be a map of names to values");
      return map;
    }
    for (Config child : c.asNodeList().orElse(List.of())) {
      if (!child.isLeaf()) {
        problem(key + "." + child.name(), "must be a single value");
        continue;
      }
      map.put(child.name(), child.asString().orElse(""));
    }
    return map;
  }

  /** A view of the section at {@code key}; keys read from it are relative to it. */
  public Settings section(String key) {
    consumed.add(full(key));
    return new Settings(source, effective, fileOnly, full(key), consumed, problems);
  }

  /** The elements of the list at {@code key}, each as a view; empty when absent. */
  public List<Settings> list(String key) {
    Config c = node(key);
    if (!c.exists()) {
      return List.of();
    }
    if (c.type() != Config.Type.LIST) {
      problem(key, "must be a list");
      markSubtree(full(key));
      return List.of();
    }
    List<Settings> items = new ArrayList<>();
    int n = c.asNodeList().orElse(List.of()).size();
    for (int i = 0; i < n; i++) {
      String element = full(key) + "." + i;
      consumed.add(element);
      items.add(new Settings(source, effective, fileOnly, element, consumed, problems));
    }
    return items;
  }

  private void markSubtree(String key) {
    consumed.add(key + ".*");
  }

  /**
   * Reports unknown keys and every recorded problem at once.
   *
   * @throws SettingsException when anything is wrong
   */
  public void finish() {
    List<String> all = new ArrayList<>(problems);
    fileOnly
        .traverse()
        .filter(Config::isLeaf)
        .map(c -> c.key().toString())
        .filter(k -> !isConsumed(k))
        .sorted()
        .forEach(k -> all.add(k + ": unknown key"));
    if (!all.isEmpty()) {
      throw new SettingsException(source, all);
    }
  }

  private boolean isConsumed(String key) {
    if (consumed.contains(key)) {
      return true;
    }
    for (String c : consumed) {
      if (c.endsWith(".*") && (key.startsWith(c.substring(0, c.length() - 1))
          || key.equals(c.substring(0, c.length() - 2)))) {
        return true;
      }
    }
    return false;
  }
}
