package io.opsscaffold.cli;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * Aligned columns, as kubectl prints them: a header in capitals, two spaces between columns. A cell
 * may be coloured (on a terminal only); alignment counts the visible text.
 */
final class Table {
  private final List<String> header;
  private final List<List<String>> rows = new ArrayList<>();
  private final List<List<String>> painted = new ArrayList<>();

  Table(String... header) {
    this.header = List.of(header);
  }

  Table row(String... cells) {
    return row(List.of(cells), UnaryOperator.identity());
  }

  /** A row whose cells are shown through {@code paint} (colour), aligned on their plain text. */
  Table row(List<String> cells, UnaryOperator<String> paint) {
    rows.add(cells);
    painted.add(cells.stream().map(paint).toList());
    return this;
  }

  /** A row whose cells in {@code statusColumns} are status words, coloured on a terminal. */
  Table row(List<String> cells, int... statusColumns) {
    List<String> shown = new ArrayList<>(cells);
    for (int c : statusColumns) {
      shown.set(c, Render.status(cells.get(c)));
    }
    rows.add(cells);
    painted.add(shown);
    return this;
  }

  boolean isEmpty() {
    return rows.isEmpty();
  }

  /** The table's lines, as {@link #print} writes them. */
  java.util.List<String> lines() {
    java.io.StringWriter text = new java.io.StringWriter();
    print(new PrintWriter(text));
    return text.toString().lines().toList();
  }

  void print(PrintWriter out) {
    int[] width = new int[header.size()];
    for (int i = 0; i < width.length; i++) {
      width[i] = header.get(i).length();
      for (List<String> r : rows) {
        width[i] = Math.max(width[i], r.get(i).length());
      }
    }
    line(out, header, header, width);
    for (int i = 0; i < rows.size(); i++) {
      line(out, rows.get(i), painted.get(i), width);
    }
    out.flush();
  }

  private static void line(PrintWriter out, List<String> plain, List<String> shown, int[] width) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < plain.size(); i++) {
      b.append(shown.get(i));
      if (i < plain.size() - 1) {
        b.append(" ".repeat(width[i] - plain.get(i).length() + 2));
      }
    }
    out.println(b.toString().stripTrailing());
  }
}
