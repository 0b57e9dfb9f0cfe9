package io.opsscaffold.daemon.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AgentStateStoreTest {
  @TempDir Path dir;

  @Test
  void aSavedRecordReadsBackExactly() throws Exception {
    AgentStateStore store = new AgentStateStore(dir);
    StoredAgent a =
        new StoredAgent(
            "a1",
            4242,
            Optional.of(Instant.parse("2026-01-01T10:00:00.123Z")),
            "/usr/bin/java -jar agent.jar",
            "RUNNING",
            3,
            OptionalInt.of(137),
            Optional.of(Instant.parse("2026-01-01T09:59:00Z")),
            "killed by signal 9 (KILL)");
    store.save(a);
    assertEquals(Optional.of(a), store.load("a1"));
    StoredAgent stopped =
        new StoredAgent(
            "a1", 0, Optional.empty(), "", "STOPPED", 3, OptionalInt.empty(), Optional.empty(), "");
    store.save(stopped);
    assertEquals(Optional.of(stopped), store.load("a1"));
    try (var files = Files.list(dir)) {
      assertEquals(1, files.count(), "no temporary file is left behind");
    }
  }

  @Test
  void aCorruptOrHalfWrittenFileIsSetAsideAndReported() throws Exception {
    AgentStateStore store = new AgentStateStore(dir);
    Files.writeString(dir.resolve("a1.json"), "{\"agent_id\":\"a1\",\"pid\":12");
    Files.writeString(dir.resolve("a2.json"), "{\"agent_id\":\"a2\"}");
    assertEquals(Optional.empty(), store.load("a1"));
    assertEquals(Optional.empty(), store.load("a2"));
    assertEquals(Optional.empty(), store.load("a3"), "never saved");
    assertEquals(2, store.problems().size(), store.problems().toString());
    assertTrue(store.problems().get(0).startsWith("state of a1 was unreadable"));
    try (var files = Files.list(dir)) {
      assertEquals(2, files.filter(f -> f.getFileName().toString().contains(".corrupt-")).count());
    }
  }
}
