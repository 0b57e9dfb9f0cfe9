package io.opsscaffold.settings;

import java.util.List;
import java.util.Map;

/** One node of a configuration tree, whatever parsed it. Immutable. */
interface ConfigNode {
  /** What a node holds. */
  enum Kind {
    MISSING,
    LEAF,
    OBJECT,
    LIST
  }

  Kind kind();

  /** The value of a leaf. */
  String text();

  /** The child called {@code name} (a list index for lists); a MISSING node when there is none. */
  ConfigNode child(String name);

  /** Children in order: names for objects, "0", "1", ... for lists. */
  List<Map.Entry<String, ConfigNode>> children();

  /** A node that is not there. */
  ConfigNode MISSING =
      new ConfigNode() {
        @Override
        public Kind kind() {
          return Kind.MISSING;
        }

        @Override
        public String text() {
          return "";
        }

        @Override
        public ConfigNode child(String name) {
          return this;
        }

        @Override
        public List<Map.Entry<String, ConfigNode>> children() {
          return List.of();
        }
      };
}
