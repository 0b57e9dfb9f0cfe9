package io.opsscaffold.observability;

/** Writes JSON string literals; used where a whole JSON library would be too much. */
public final class JsonText {
  private JsonText() {}

  /** Appends {@code value} as a quoted, escaped JSON string. */
  public static StringBuilder appendQuoted(StringBuilder out, String value) {
    out.append('"');
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        default -> {
          if (c < 0x20) {
            out.append(String.format("\\u%04x", (int) c));
          } else {
            out.append(c);
          }
        }
      }
    }
    return out.append('"');
  }

  /** {@code value} as a quoted, escaped JSON string. */
  public static String quote(String value) {
    return appendQuoted(new StringBuilder(value.length() + 2), value).toString();
  }
}
