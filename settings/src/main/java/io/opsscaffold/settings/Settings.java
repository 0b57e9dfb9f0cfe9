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
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Strict, typed reading of one YAML configuration file, with system properties and environment
 * variables overriding single values: the property named as the key ({@code
 * -Dlink.offline-grace=5s}), else the variable whose name is the key in upper case with {@code .}
 * as {@code _} and {@code -} as {@code __} ({@code SERVER_PORT} overrides {@code server.port},
 * {@code LINK_OFFLINE__GRACE} overrides {@code link.offline-grace}). The manager, the daemon and
 * the agent all use this one mapping, whichever YAML reader they load the file with.
 *
 * <p>Each read names a key and a default; a bad value is recorded as a problem naming the key and
 * the default is used. {@link #finish()} adds every key present in the file that nothing read (a
 * typo, a key of another version) and throws one {@link SettingsException} listing them all, so a
 * person fixes a file in one pass. Not thread-safe: read everything in {@code main}, then finish.
 */
public final class Settings {
  private final String source;
  private final ConfigNode effective;
  private final ConfigNode fileOnly;
  private final Function<String, Optional<String>> overrides;
  private final String prefix;
  private final Set<String> consumed;
  private final List<String> problems;

  private Settings(
      String source,
      ConfigNode effective,
      ConfigNode fileOnly,
      Function<String, Optional<String>> overrides,
      String prefix,
      Set<String> consumed,
      List<String> problems) {
    this.source = source;
    this.effective = effective;
    this.fileOnly = fileOnly;
    this.overrides = overrides;
    this.prefix = prefix;
    this.consumed = consumed;
    this.problems = problems;
  }

  /**
   * Loads {@code file} (YAML) through Helidon Config, under environment and system-property
   * overrides; a missing file is fine when {@code required} is false (every key then has its
   * default).
   */
  public static Settings load(Optional<Path> file, boolean required) {
    String source = file.map(Path::toString).orElse("(defaults)");
    ConfigNode fileOnly = readFile(file, required, source);
    List<Supplier<? extends io.helidon.config.spi.ConfigSource>> sources = new ArrayList<>();
    if (fileOnly != ConfigNode.MISSING) {
      sources.add(ConfigSources.file(file.get()));
    }
    // Helidon's own environment mapping knows no "__" for a dash: it is off, and the overrides are
    // applied per key by environmentOverride, as in loadLean.
    Config effective =
        Config.builder()
            .sources(sources.isEmpty() ? List.of(ConfigSources::empty) : sources)
            .disableEnvironmentVariablesSource()
            .disableSystemPropertiesSource()
            .build();
    return new Settings(
        source,
        new HelidonConfigNode(effective),
        fileOnly,
        Settings::environmentOverride,
        "",
        new TreeSet<>(),
        new ArrayList<>());
  }

  /**
   * Like {@link #load}, but parses the YAML with SnakeYAML alone and applies the same overrides
   * itself, for single values: a process that must stay small (the reference agent) does not load
   * Helidon Config's few hundred classes.
   */
  public static Settings loadLean(Optional<Path> file, boolean required) {
    String source = file.map(Path::toString).orElse("(defaults)");
    ConfigNode fileOnly = readFile(file, required, source);
    ConfigNode root = fileOnly == ConfigNode.MISSING ? YamlNode.parse("") : fileOnly;
    return new Settings(
        source, root, root, Settings::environmentOverride, "", new TreeSet<>(), new ArrayList<>());
  }

  /** Settings from an in-memory YAML text, without overrides; for tests. */
  public static Settings ofYaml(String yaml) {
    ConfigNode root = YamlNode.parse(yaml);
    return new Settings(
        "(inline)", root, root, key -> Optional.empty(), "", new TreeSet<>(), new ArrayList<>());
  }

  private static ConfigNode readFile(Optional<Path> file, boolean required, String source) {
    if (file.isEmpty()) {
      return ConfigNode.MISSING;
    }
    if (!Files.isRegularFile(file.get())) {
      if (required) {
        throw new SettingsException(source, List.of("the file does not exist"));
      }
      return ConfigNode.MISSING;
    }
    try {
      ConfigNode root = YamlNode.parse(Files.readString(file.get()));
      if (root.kind() != ConfigNode.Kind.OBJECT) {
        throw new SettingsException(
            source, List.of("the file must hold a YAML mapping of keys to values"));
      }
      return root;
    } catch (java.io.IOException | RuntimeException e) {
      if (e instanceof SettingsException se) {
        throw se;
      }
      throw new SettingsException(source, List.of("cannot parse the file: " + e.getMessage()));
    }
  }

  /**
   * {@code server.port} from system property {@code server.port} or variable {@code SERVER_PORT}.
   */
  static Optional<String> environmentOverride(String key) {
    String property = System.getProperty(key);
    if (property != null) {
      return Optional.of(property);
    }
    String variable = key.replace("-", "__").replace('.', '_').toUpperCase(java.util.Locale.ROOT);
    return Optional.ofNullable(System.getenv(variable));
  }

  private String full(String key) {
    return prefix.isEmpty() ? key : key.isEmpty() ? prefix : prefix + "." + key;
  }

  private static ConfigNode at(ConfigNode root, String dottedKey) {
    ConfigNode n = root;
    for (String part : dottedKey.split("\\.")) {
      n = n.child(part);
      if (n.kind() == ConfigNode.Kind.MISSING) {
        return ConfigNode.MISSING;
      }
    }
    return n;
  }

  private ConfigNode node(String key) {
    consumed.add(full(key));
    return at(effective, full(key));
  }

  /** Records a problem with {@code key}; for checks that span keys. */
  public void problem(String key, String message) {
    problems.add(full(key) + ": " + message);
  }

  public boolean has(String key) {
    return at(effective, full(key)).kind() != ConfigNode.Kind.MISSING;
  }

  public String string(String key, String defaultValue) {
    ConfigNode c = node(key);
    Optional<String> override = overrides.apply(full(key));
    if (override.isPresent()) {
      return override.get();
    }
    if (c.kind() == ConfigNode.Kind.MISSING) {
      return defaultValue;
    }
    if (c.kind() != ConfigNode.Kind.LEAF) {
      problem(key, "must be a single value, not a list or a section");
      return defaultValue;
    }
    return c.text();
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
        problem(
            key,
            "must be between "
                + DurationText.format(min)
                + " and "
                + DurationText.format(max)
                + " (got "
                + text
                + ")");
        return defaultValue;
      }
      return d;
    } catch (IllegalArgumentException e) {
      problem(key, e.getMessage());
      return defaultValue;
    }
  }

  /**
   * A size in bytes: a number, optionally with KB, MB or GB (powers of 1024); within [min, max].
   */
  public long bytes(String key, long defaultValue, long min, long max) {
    String text = string(key, null);
    if (text == null) {
      return defaultValue;
    }
    java.util.regex.Matcher m =
        java.util.regex.Pattern.compile("(?i)\\s*(\\d+)\\s*(b|kb|kib|mb|mib|gb|gib)?\\s*")
            .matcher(text);
    if (!m.matches()) {
      problem(key, "must be a size such as 512KB, 50MB or 1GB (got '" + text + "')");
      return defaultValue;
    }
    long n = Long.parseLong(m.group(1));
    String unit = m.group(2) == null ? "b" : m.group(2).toLowerCase(java.util.Locale.ROOT);
    long v =
        switch (unit.charAt(0)) {
          case 'k' -> n * 1024;
          case 'm' -> n * 1024 * 1024;
          case 'g' -> n * 1024 * 1024 * 1024;
          default -> n;
        };
    if (v < min || v > max) {
      problem(key, "must be between " + min + " and " + max + " bytes (got " + text + ")");
      return defaultValue;
    }
    return v;
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
    ConfigNode c = node(key);
    markSubtree(full(key));
    switch (c.kind()) {
      case MISSING:
        return List.of();
      case LEAF:
        return List.of(c.text());
      case LIST:
        List<String> out = new ArrayList<>();
        for (Map.Entry<String, ConfigNode> e : c.children()) {
          if (e.getValue().kind() != ConfigNode.Kind.LEAF) {
            problem(key + "." + e.getKey(), "must be a single value");
            continue;
          }
          out.add(e.getValue().text());
        }
        return out;
      default:
        problem(key, "must be a list of strings");
        return List.of();
    }
  }

  /** A map of strings (e.g. environment variables or labels). */
  public Map<String, String> stringMap(String key) {
    ConfigNode c = node(key);
    markSubtree(full(key));
    Map<String, String> map = new LinkedHashMap<>();
    if (c.kind() == ConfigNode.Kind.MISSING) {
      return map;
    }
    if (c.kind() != ConfigNode.Kind.OBJECT) {
      problem(key, "must be a map of names to values");
      return map;
    }
    for (Map.Entry<String, ConfigNode> child : c.children()) {
      if (child.getValue().kind() != ConfigNode.Kind.LEAF) {
        problem(key + "." + child.getKey(), "must be a single value");
        continue;
      }
      map.put(child.getKey(), child.getValue().text());
    }
    return map;
  }

  /** A view of the section at {@code key}; keys read from it are relative to it. */
  public Settings section(String key) {
    consumed.add(full(key));
    return new Settings(source, effective, fileOnly, overrides, full(key), consumed, problems);
  }

  /** The elements of the list at {@code key}, each as a view; empty when absent. */
  public List<Settings> list(String key) {
    ConfigNode c = node(key);
    if (c.kind() == ConfigNode.Kind.MISSING) {
      return List.of();
    }
    if (c.kind() != ConfigNode.Kind.LIST) {
      problem(key, "must be a list");
      markSubtree(full(key));
      return List.of();
    }
    List<Settings> items = new ArrayList<>();
    int n = c.children().size();
    for (int i = 0; i < n; i++) {
      String element = full(key) + "." + i;
      consumed.add(element);
      items.add(new Settings(source, effective, fileOnly, overrides, element, consumed, problems));
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
    List<String> leaves = new ArrayList<>();
    collectLeaves(fileOnly, "", leaves);
    leaves.stream().filter(k -> !isConsumed(k)).sorted().forEach(k -> all.add(k + ": unknown key"));
    if (!all.isEmpty()) {
      throw new SettingsException(source, all);
    }
  }

  private static void collectLeaves(ConfigNode node, String key, List<String> out) {
    switch (node.kind()) {
      case LEAF -> out.add(key);
      case OBJECT, LIST -> {
        for (Map.Entry<String, ConfigNode> e : node.children()) {
          collectLeaves(e.getValue(), key.isEmpty() ? e.getKey() : key + "." + e.getKey(), out);
        }
      }
      default -> {}
    }
  }

  private boolean isConsumed(String key) {
    if (consumed.contains(key)) {
      return true;
    }
    for (String c : consumed) {
      if (c.endsWith(".*")
          && (key.startsWith(c.substring(0, c.length() - 1))
              || key.equals(c.substring(0, c.length() - 2)))) {
        return true;
      }
    }
    return false;
  }
}
