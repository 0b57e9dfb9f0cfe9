package io.opsscaffold.systemtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.google.protobuf.util.Timestamps;
import io.opsscaffold.api.fleet.v1.Agent;
import io.opsscaffold.api.status.v1.Lifecycle;
import io.opsscaffold.testing.Await;
import java.nio.file.Files;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Drill: the daemon is frozen (SIGSTOP) and thawed (SIGCONT), as a VM suspend, a stopped container
 * or a long GC pause does. Its agents ran on meanwhile and their heartbeats queued; the daemon must
 * give them a fresh grace instead of restarting them. The pause lasts {@code ops.drill.pause} (8 s
 * by default, past the agents' 5 s heartbeat timeout; {@code scripts/drill --long} uses 30 s).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DaemonPauseDrillIT {
  private static final List<String> AGENTS = List.of("p1", "p2", "p3");
  private Stack stack;

  @BeforeAll
  void start() throws Exception {
    stack = new Stack(AGENTS, Stack.env(Map.of()));
    stack.startManager().startDaemon();
  }

  @AfterAll
  void stop() {
    stack.close();
  }

  private static void signal(long pid, String sig) throws Exception {
    Process p = new ProcessBuilder("kill", "-" + sig, Long.toString(pid)).inheritIO().start();
    assertEquals(0, p.waitFor(), "kill -" + sig + " " + pid);
  }

  @Test
  void aPausedDaemonRestartsNoneOfItsHealthyAgents() throws Exception {
    Duration pause = Duration.parse("PT" + System.getProperty("ops.drill.pause", "8s"));
    Map<String, Agent> before = new HashMap<>();
    for (String id : AGENTS) {
      before.put(
          id,
          Await.until(
              Duration.ofSeconds(30),
              id + " RUNNING with a heartbeat",
              () -> stack.agent(id),
              a -> a.getLifecycle() == Lifecycle.LIFECYCLE_RUNNING && a.hasLastHeartbeat()));
    }

    long daemonPid = stack.daemon.pid();
    signal(daemonPid, "STOP");
    Thread.sleep(pause.toMillis()); // the fault itself: how long the daemon is frozen
    long resumedAtMs = System.currentTimeMillis();
    signal(daemonPid, "CONT");

    // Converged: every agent's heartbeat, received by the daemon after it was thawed, reached the
    // manager. By then the daemon's health monitor has judged its agents several times since.
    for (String id : AGENTS) {
      Await.until(
          Duration.ofSeconds(30),
          id + " reporting heartbeats received after the pause",
          () -> stack.agent(id),
          a -> Timestamps.toMillis(a.getLastHeartbeat()) > resumedAtMs + 2_000);
    }
    long convergedMs = System.currentTimeMillis() - resumedAtMs;

    int restarts = 0; // processes replaced, whatever the daemon's reason
    for (String id : AGENTS) {
      if (stack.agent(id).getPid() != before.get(id).getPid()) {
        restarts++;
      }
    }
    System.out.printf(
        "drill daemon-pause: paused %d s, converged %d ms after SIGCONT, agent restarts %d%n",
        pause.toSeconds(), convergedMs, restarts);
    for (String id : AGENTS) {
      Agent now = stack.agent(id);
      assertEquals(Lifecycle.LIFECYCLE_RUNNING, now.getLifecycle(), id + ": " + now.getMessage());
      assertEquals(before.get(id).getPid(), now.getPid(), id + " kept its process");
      assertEquals(
          before.get(id).getRestartCount(), now.getRestartCount(), id + " was not restarted");
      assertEquals(
          1, stack.agentProcess(id).stream().count(), id + " still runs as exactly one process");
    }
    assertFalse(
        Files.readString(stack.daemon.log()).contains("restarting it"),
        "the daemon judged a healthy agent dead after its pause");
    stack.assertManagerMatchesDaemon();
  }
}
