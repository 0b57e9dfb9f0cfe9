package io.opsscaffold.daemon.supervision;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.opsscaffold.daemon.store.AgentStateStore;
import io.opsscaffold.daemon.store.StoredAgent;
import io.opsscaffold.testing.Await;
import io.opsscaffold.testing.ManualTime;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A state write that fails must not be forgotten: the next daemon re-adopts agents only from what
 * is on disk, and would start a second copy of one whose pid never got there.
 */
class AgentStateSaverTest {
  @TempDir Path dir;
  private final ManualTime time = new ManualTime();

  private static AgentSnapshot running(String id, long pid) {
    return new AgentSnapshot(
        id,
        "t",
        Lifecycle.RUNNING,
        io.opsscaffold.daemon.health.Health.HEALTHY,
        pid,
        Optional.empty(),
        Optional.empty(),
        Duration.ZERO,
        OptionalInt.empty(),
        Optional.empty(),
        0,
        "running",
        List.of(),
        "");
  }

  @Test
  void aFailedWriteIsRetriedWithBackoffUntilItLands() throws Exception {
    Path stateDir = dir.resolve("state");
    Files.writeString(stateDir, "a file where the directory should be"); // every write fails
    AgentStateStore store = new AgentStateStore(stateDir);
    long pid = ProcessHandle.current().pid();
    try (AgentStateSaver saver = new AgentStateSaver(store, time)) {
      saver.offer(running("a1", pid));
      Await.until(
          Duration.ofSeconds(5),
          "the failure to be noticed",
          saver::unsaved,
          s -> s.equals(Set.of("a1")));
      assertEquals(
          Duration.ofSeconds(1),
          Await.until(
              Duration.ofSeconds(5), "a retry to be armed", time::nextTimerIn, d -> d != null),
          "first retry after 1 s");
      time.advance(Duration.ofSeconds(1));
      assertEquals(
          Duration.ofSeconds(2),
          Await.until(
              Duration.ofSeconds(5),
              "the second retry to be armed",
              time::nextTimerIn,
              d -> d != null),
          "then 2 s");

      Files.delete(stateDir); // the disk is writable again
      time.advance(Duration.ofSeconds(2));
      Await.until(Duration.ofSeconds(5), "the record to land", saver::unsaved, Set::isEmpty);
      StoredAgent stored = store.load("a1").orElseThrow();
      assertEquals(pid, stored.pid());
      assertTrue(
          stored.processStart().isPresent(), "the start time that guards re-adoption is stored");
      assertEquals(0, time.pendingTimers(), "no more retries");
    }
  }

  @Test
  void aNewerSnapshotWinsOverTheOneThatFailed() throws Exception {
    Path stateDir = dir.resolve("state");
    Files.writeString(stateDir, "x");
    AgentStateStore store = new AgentStateStore(stateDir);
    try (AgentStateSaver saver = new AgentStateSaver(store, time)) {
      saver.offer(running("a1", ProcessHandle.current().pid()));
      Await.until(Duration.ofSeconds(5), "the failure", saver::unsaved, s -> !s.isEmpty());
      Files.delete(stateDir);
      AgentSnapshot stopped =
          new AgentSnapshot(
              "a1",
              "t",
              Lifecycle.STOPPED,
              io.opsscaffold.daemon.health.Health.DEAD,
              0,
              Optional.empty(),
              Optional.empty(),
              Duration.ZERO,
              OptionalInt.of(0),
              Optional.empty(),
              0,
              "stopped",
              List.of(),
              "");
      saver.offer(stopped);
      Await.until(
          Duration.ofSeconds(5),
          "the newer record",
          () -> store.load("a1").map(StoredAgent::lifecycle),
          l -> l.equals(Optional.of("STOPPED")));
      time.advance(Duration.ofMinutes(1)); // the old retry finds nothing left to write
      assertEquals(Optional.of("STOPPED"), store.load("a1").map(StoredAgent::lifecycle));
    }
  }
}
