package io.opsscaffold.settings;

import io.helidon.config.Config;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** A {@link ConfigNode} over Helidon Config (YAML file, environment and system properties). */
record HelidonConfigNode(Config config) implements ConfigNode {
  @Override
  public Kind kind() {
    if (!config.exists()) {
      return Kind.MISSING;
    }
    return switch (config.type()) {
      case OBJECT -> Kind.OBJECT;
      case LIST -> Kind.LIST;
      case VALUE -> Kind.LEAF;
      default -> Kind.MISSING;
    };
  }

  @Override
  public String text() {
    return config.asString().orElse("");
  }

  @Override
  public ConfigNode child(String name) {
    return new HelidonConfigNode(config.get(name));
  }

  @Override
  public List<Map.Entry<String, ConfigNode>> children() {
    List<Map.Entry<String, ConfigNode>> out = new ArrayList<>();
    for (Config c : config.asNodeList().orElse(List.of())) {
      out.add(Map.entry(c.name(), new HelidonConfigNode(c)));
    }
    return out;
  }
}
