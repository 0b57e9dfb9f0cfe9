package io.opsscaffold.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The unified diff opsctl shows before a config push. */
class DiffTest {
  @Test
  void equalTextsHaveNoDiff() {
    assertEquals(List.of(), Diff.unified("a", "b", "x\ny\n", "x\ny\n"));
  }

  @Test
  void aChangedLineIsShownWithThreeLinesOfContext() {
    String before = "1\n2\n3\n4\n5\n6\n7\n8\n9\n";
    String after = "1\n2\n3\n4\nfive\n6\n7\n8\n9\n";
    assertEquals(
        List.of(
            "--- old",
            "+++ new",
            "@@ -2,7 +2,7 @@",
            " 2",
            " 3",
            " 4",
            "-5",
            "+five",
            " 6",
            " 7",
            " 8"),
        Diff.unified("old", "new", before, after));
  }

  @Test
  void aNewFileIsAllAdded() {
    assertEquals(
        List.of("--- /dev/null", "+++ f", "@@ -0,0 +1,2 @@", "+a", "+b"),
        Diff.unified("/dev/null", "f", "", "a\nb\n"));
  }

  @Test
  void changesFarApartAreSeparateHunks() {
    StringBuilder before = new StringBuilder();
    for (int i = 1; i <= 20; i++) {
      before.append(i).append('\n');
    }
    String after = before.toString().replace("2\n", "two\n").replace("19\n", "nineteen\n");
    List<String> diff = Diff.unified("a", "b", before.toString(), after);
    assertEquals(2, diff.stream().filter(l -> l.startsWith("@@")).count(), String.join("\n", diff));
  }
}
