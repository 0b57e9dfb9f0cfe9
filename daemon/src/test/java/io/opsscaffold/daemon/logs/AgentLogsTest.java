package io.opsscaffold.daemon.logs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.FileOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AgentLogsTest {
  @TempDir Path dir;

  private static List<String> lines(int from, int to) {
    return IntStream.rangeClosed(from, to).mapToObj(i -> "line " + i).toList();
  }

  @Test
  void tailReturnsExactlyTheLastLines() throws Exception {
    AgentLogs logs = new AgentLogs(dir);
    Files.writeString(logs.file("a"), String.join("\n", lines(1, 5000)) + "\n");
    assertEquals(lines(4901, 5000), logs.tail("a", 100));
    assertEquals(lines(5000, 5000), logs.tail("a", 1));
    assertEquals(lines(1, 5000), logs.tail("a", 10_000));
    Files.writeString(logs.file("b"), "only\nno newline at the end");
    assertEquals(List.of("only", "no newline at the end"), logs.tail("b", 5));
    assertEquals(List.of(), logs.tail("missing", 5));
  }

  @Test
  void rotationKeepsAtMostBackupsFilesOfAtMostMaxBytesAndTailSpansThem() throws Exception {
    AgentLogs logs = new AgentLogs(dir);
    LogPolicy policy = new LogPolicy(1000, 3);
    logs.register("a", policy);
    List<String> written = new ArrayList<>();
    // Like an agent: one descriptor, opened in append mode, written to all along.
    try (OutputStream out = new FileOutputStream(logs.file("a").toFile(), true)) {
      for (int i = 1; i <= 400; i++) {
        String line = "line " + i;
        written.add(line);
        out.write((line + "\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
        logs.rotateOversized();
      }
    }
    assertTrue(Files.size(logs.file("a")) <= 1000 + 10);
    for (int n = 1; n <= 3; n++) {
      Path backup = dir.resolve("a.log." + n);
      assertTrue(Files.exists(backup), backup.toString());
      assertTrue(Files.size(backup) <= 1000 + 10, backup + " is " + Files.size(backup));
    }
    assertFalse(Files.exists(dir.resolve("a.log.4")), "at most 3 backups");
    String current = Files.readString(logs.file("a"));
    assertFalse(current.startsWith("\0"), "the writer went on at the start of the truncated file");
    List<String> tail = logs.tail("a", 150);
    assertEquals(written.subList(250, 400), tail, "the tail reads back through the rotated files");
  }
}
