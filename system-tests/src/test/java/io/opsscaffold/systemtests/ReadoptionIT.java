package io.opsscaffold.systemtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.opsscaffold.api.fleet.v1.Agent;
import io.opsscaffold.api.status.v1.Lifecycle;
import io.opsscaffold.testing.Await;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * kill -9 of the daemon: agents keep running, the next daemon re-adopts them, never duplicates
 * them.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ReadoptionIT {
  private Stack stack;

  @BeforeAll
  void start() throws Exception {
    stack = new Stack(List.of("a1", "a2"), Stack.env(Map.of()));
    stack.startManager().startDaemon();
  }

  @AfterAll
  void stop() {
    stack.close();
  }

  @Test
  void afterKill9TheDaemonReadoptsItsAgentsAndStillHandlesTheirExit() throws Exception {
    Map<String, Integer> pids =
        Map.of(
            "a1",
                Await.until(
                        Duration.ofSeconds(20),
                        "a1 RUNNING",
                        () -> stack.agent("a1"),
                        a -> a.getLifecycle() == Lifecycle.LIFECYCLE_RUNNING)
                    .getPid(),
            "a2",
                Await.until(
                        Duration.ofSeconds(20),
                        "a2 RUNNING",
                        () -> stack.agent("a2"),
                        a -> a.getLifecycle() == Lifecycle.LIFECYCLE_RUNNING)
                    .getPid());

    // Count each agent's processes throughout: there must never be two.
    AtomicInteger mostSeen = new AtomicInteger();
    var watcher = java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
    watcher.scheduleWithFixedDelay(
        () -> {
          for (String id : List.of("a1", "a2")) {
            String marker = stack.configFile(id).toString();
            int n =
                (int)
                    ProcessHandle.allProcesses()
                        .filter(
                            p ->
                                p.isAlive()
                                    && p.info()
                                        .commandLine()
                                        .map(c -> c.contains(marker))
                                        .orElse(false))
                        .count();
            mostSeen.accumulateAndGet(n, Math::max);
          }
        },
        0,
        10,
        TimeUnit.MILLISECONDS);

    ProcessHandle daemon = ProcessHandle.of(stack.daemon.pid()).orElseThrow();
    daemon.destroyForcibly(); // kill -9
    daemon.onExit().get(10, TimeUnit.SECONDS);
    for (var e : pids.entrySet()) {
      assertTrue(
          ProcessHandle.of(e.getValue()).map(ProcessHandle::isAlive).orElse(false),
          e.getKey() + " survived the daemon");
    }

    stack.startDaemon();
    var readopted =
        Await.until(
            Duration.ofSeconds(20),
            "both agents re-adopted with their pids",
            stack::agents,
            r ->
                r.getAgentsList().stream()
                    .allMatch(
                        a ->
                            a.getLifecycle() == Lifecycle.LIFECYCLE_RUNNING
                                && a.getPid() == pids.get(a.getAgentId())
                                && a.getMessage().startsWith("adopted (pid ")));
    assertEquals(2, readopted.getAgentsCount());

    // The adopted a1 dies: the new daemon notices and starts a new one.
    long killedAt = System.nanoTime();
    ProcessHandle.of(pids.get("a1")).orElseThrow().destroyForcibly();
    Agent noticed =
        Await.until(
            Duration.ofSeconds(20),
            "the exit of adopted a1 to be noticed",
            () -> stack.agent("a1"),
            a -> a.getLifecycle() != Lifecycle.LIFECYCLE_RUNNING || a.getPid() != pids.get("a1"));
    long noticedMs = (System.nanoTime() - killedAt) / 1_000_000;
    Agent replaced =
        Await.until(
            Duration.ofSeconds(20),
            "a1 running again as a new process",
            () -> stack.agent("a1"),
            a -> a.getLifecycle() == Lifecycle.LIFECYCLE_RUNNING && a.getPid() != pids.get("a1"));
    assertTrue(
        replaced.getLastRestartReason().contains("status unknown: the process was adopted"),
        replaced.getLastRestartReason());
    assertEquals(
        stack.daemon.pid(),
        ProcessHandle.of(replaced.getPid()).orElseThrow().parent().orElseThrow().pid(),
        "the replacement is the new daemon's own child");
    System.out.printf(
        "adopted agent killed -> exit noticed in %d ms (state %s); running again as pid %d%n",
        noticedMs, noticed.getLifecycle(), replaced.getPid());

    watcher.shutdownNow();
    watcher.awaitTermination(5, TimeUnit.SECONDS);
    assertEquals(1, mostSeen.get(), "no agent ever ran twice");
    stack.assertManagerMatchesDaemon();
  }
}
