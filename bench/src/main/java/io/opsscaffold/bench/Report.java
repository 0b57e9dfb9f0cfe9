package io.opsscaffold.bench;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/** What the benchmarks share: {@code --key=value} options and the table printed at the end. */
final class Report {
  private Report() {}

  /** The options, or exits with {@code usage} when an argument is not {@code --key=value}. */
  static Map<String, String> options(String[] args, String usage) {
    Map<String, String> a = new LinkedHashMap<>();
    for (String arg : args) {
      if (!arg.startsWith("--") || !arg.contains("=")) {
        System.err.println("usage: " + usage);
        System.exit(2);
      }
      a.put(arg.substring(2, arg.indexOf('=')), arg.substring(arg.indexOf('=') + 1));
    }
    return a;
  }

  /** One line per result: its name, then its figures as {@code key=value}. */
  static void print(String title, Map<String, Object> results) {
    System.out.println();
    System.out.println(title);
    for (var e : results.entrySet()) {
      String figures =
          e.getValue() instanceof Map<?, ?> m
              ? m.entrySet().stream()
                  .map(x -> x.getKey() + "=" + fmt(x.getValue()))
                  .collect(Collectors.joining("  "))
              : fmt(e.getValue());
      System.out.printf(Locale.ROOT, "%-26s %s%n", e.getKey(), figures);
    }
  }

  private static String fmt(Object v) {
    if (v instanceof java.util.List<?> l) {
      return l.stream().map(Report::fmt).collect(Collectors.joining("/"));
    }
    return v instanceof Double d ? String.format(Locale.ROOT, "%.2f", d) : String.valueOf(v);
  }
}
