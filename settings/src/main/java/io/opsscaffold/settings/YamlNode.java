package io.opsscaffold.settings;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * A {@link ConfigNode} over a YAML document parsed by SnakeYAML alone (safe constructor: plain
 * maps, lists and scalars). Used where the footprint of a process matters more than Helidon
 * Config's features (the reference agent).
 */
record YamlNode(Object value) implements ConfigNode {

  /** Parses {@code yaml}; an empty document is an empty object. */
  static ConfigNode parse(String yaml) {
    Object root = new Yaml(new SafeConstructor(new LoaderOptions())).load(yaml);
    return root == null ? new YamlNode(Map.of()) : new YamlNode(root);
  }

  @Override
  public Kind kind() {
    if (value instanceof Map<?, ?>) {
      return Kind.OBJECT;
    }
    if (value instanceof List<?>) {
      return Kind.LIST;
    }
    return value == null ? Kind.MISSING : Kind.LEAF;
  }

  @Override
  public String text() {
    return value == null ? "" : String.valueOf(value);
  }

  @Override
  public ConfigNode child(String name) {
    if (value instanceof Map<?, ?> map) {
      Object v = map.get(name);
      return v == null ? ConfigNode.MISSING : new YamlNode(v);
    }
    if (value instanceof List<?> list && name.matches("\\d+")) {
      int i = Integer.parseInt(name);
      return i < list.size() ? new YamlNode(list.get(i)) : ConfigNode.MISSING;
    }
    return ConfigNode.MISSING;
  }

  @Override
  public List<Map.Entry<String, ConfigNode>> children() {
    List<Map.Entry<String, ConfigNode>> out = new ArrayList<>();
    if (value instanceof Map<?, ?> map) {
      map.forEach((k, v) -> out.add(Map.entry(String.valueOf(k), new YamlNode(v))));
    } else if (value instanceof List<?> list) {
      for (int i = 0; i < list.size(); i++) {
        out.add(Map.entry(Integer.toString(i), new YamlNode(list.get(i))));
      }
    }
    return out;
  }
}
