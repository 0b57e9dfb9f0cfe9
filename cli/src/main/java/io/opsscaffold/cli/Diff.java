package io.opsscaffold.cli;

import java.util.ArrayList;
import java.util.List;

/**
 * A unified diff of two texts by lines (longest common subsequence; configuration files are small),
 * with three lines of context around each change, as {@code diff -u} prints it.
 */
final class Diff {
  private static final int CONTEXT = 3;

  private Diff() {}

  /** The diff, empty when the texts are equal. */
  static List<String> unified(String oldName, String newName, String before, String after) {
    List<String> a = before.lines().toList();
    List<String> b = after.lines().toList();
    if (a.equals(b)) {
      return List.of();
    }
    int[][] lcs = new int[a.size() + 1][b.size() + 1];
    for (int i = a.size() - 1; i >= 0; i--) {
      for (int j = b.size() - 1; j >= 0; j--) {
        lcs[i][j] =
            a.get(i).equals(b.get(j))
                ? lcs[i + 1][j + 1] + 1
                : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
      }
    }
    // The edit script: ' ' kept, '-' removed, '+' added, with each line's old and new position.
    record Edit(char op, String line, int oldLine, int newLine) {}
    List<Edit> edits = new ArrayList<>();
    int i = 0;
    int j = 0;
    while (i < a.size() || j < b.size()) {
      if (i < a.size() && j < b.size() && a.get(i).equals(b.get(j))) {
        edits.add(new Edit(' ', a.get(i), i++, j++));
      } else if (i < a.size() && (j == b.size() || lcs[i + 1][j] >= lcs[i][j + 1])) {
        edits.add(new Edit('-', a.get(i), i++, j)); // removals first, as diff -u prints them
      } else {
        edits.add(new Edit('+', b.get(j), i, j++));
      }
    }
    List<String> out = new ArrayList<>();
    out.add("--- " + oldName);
    out.add("+++ " + newName);
    int k = 0;
    while (k < edits.size()) {
      while (k < edits.size() && edits.get(k).op() == ' ') {
        k++;
      }
      if (k == edits.size()) {
        break;
      }
      int start = Math.max(0, k - CONTEXT);
      int end = k;
      int quiet = 0;
      while (end < edits.size() && quiet <= 2 * CONTEXT) {
        quiet = edits.get(end).op() == ' ' ? quiet + 1 : 0;
        end++;
      }
      end = Math.min(edits.size(), end - Math.max(0, quiet - CONTEXT));
      List<Edit> hunk = edits.subList(start, end);
      int oldCount = (int) hunk.stream().filter(e -> e.op() != '+').count();
      int newCount = (int) hunk.stream().filter(e -> e.op() != '-').count();
      out.add(
          "@@ -"
              + (hunk.get(0).oldLine() + (oldCount == 0 ? 0 : 1))
              + ","
              + oldCount
              + " +"
              + (hunk.get(0).newLine() + (newCount == 0 ? 0 : 1))
              + ","
              + newCount
              + " @@");
      hunk.forEach(e -> out.add(e.op() + e.line()));
      k = end;
    }
    return out;
  }
}
