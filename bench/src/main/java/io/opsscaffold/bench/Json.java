package io.opsscaffold.bench;

import java.util.Map;

/** Writes the benchmark's results (maps, lists, numbers, strings, booleans) as JSON. */
final class Json {
  private Json() {}

  static String write(Object v) {
    StringBuilder b = new StringBuilder();
    write(v, b, "");
    return b.toString();
  }

  private static void write(Object v, StringBuilder b, String indent) {
    if (v instanceof Map<?, ?> m) {
      b.append("{\n");
      int i = 0;
      for (var e : m.entrySet()) {
        b.append(indent).append("  \"").append(e.getKey()).append("\": ");
        write(e.getValue(), b, indent + "  ");
        b.append(++i < m.size() ? ",\n" : "\n");
      }
      b.append(indent).append('}');
    } else if (v instanceof java.util.List<?> l) {
      b.append('[');
      for (int i = 0; i < l.size(); i++) {
        write(l.get(i), b, indent);
        b.append(i + 1 < l.size() ? ", " : "");
      }
      b.append(']');
    } else if (v instanceof Double d) {
      b.append(
          d.isNaN() || d.isInfinite() ? "null" : String.format(java.util.Locale.ROOT, "%.3f", d));
    } else if (v instanceof Number || v instanceof Boolean) {
      b.append(v);
    } else {
      b.append('"')
          .append(String.valueOf(v).replace("\\", "\\\\").replace("\"", "\\\""))
          .append('"');
    }
  }
}
