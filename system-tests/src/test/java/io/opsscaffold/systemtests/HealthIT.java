package io.opsscaffold.systemtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.opsscaffold.api.fleet.v1.Agent;
import io.opsscaffold.api.status.v1.Health;
import io.opsscaffold.api.status.v1.Lifecycle;
import io.opsscaffold.testing.Await;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The daemon's health checks against real agents misbehaving on purpose; each unhealthy agent is
 * restarted through the backoff with the reason reported, and stalled progress reads NO_DATA (3).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HealthIT {
  private Stack stack;

  @BeforeAll
  void start() throws Exception {
    int probePort = Stack.freePort();
    stack =
        new Stack(
            List.of("silent", "burner", "slowhealth", "stalled"),
            Map.of(
                "silent", "faults:\n  stop_heartbeat: true\n",
                "burner", "faults:\n  cpu_burn_percent: 95\n",
                "slowhealth", "http_port: " + probePort + "\nfaults:\n  health_delay: 3s\n",
                "stalled", "faults:\n  stop_progress: true\n"),
            Map.of(
                "silent", "heartbeat-timeout: 2s\n",
                "burner", "health:\n  cpu-percent: 50\n  sustain: 2s\n",
                "slowhealth",
                    "health:\n  probe:\n    url: http://127.0.0.1:"
                        + probePort
                        + "/health\n"
                        + "    period: 300ms\n    timeout: 300ms\n    failure-threshold: 2\n",
                "stalled", "health:\n  no-data-after: 2s\n  restart: false\n"),
            "",
            Stack.env(Map.of()));
    stack.startManager().startDaemon();
  }

  @AfterAll
  void stop() {
    stack.close();
  }

  /** Waits until the agent was restarted for being unhealthy and runs again; returns it. */
  private Agent restartedFor(String id, String reasonStart) {
    Agent a =
        Await.until(
            Duration.ofSeconds(40),
            id + " to be restarted for " + reasonStart,
            () -> stack.agent(id),
            x -> x.getRestartCount() >= 1 && x.getLastRestartReason().startsWith(reasonStart));
    System.out.printf(
        "%s restarted %d time(s); last reason: %s%n",
        id, a.getRestartCount(), a.getLastRestartReason());
    return a;
  }

  @Test
  void anAgentThatStopsHeartbeatingIsNoHeartbeatAndRestarted() {
    Agent a = restartedFor("silent", "NO_HEARTBEAT: no heartbeat for");
    assertTrue(a.getLastRestartReason().contains("(timeout 2000 ms)"), a.getLastRestartReason());
  }

  @Test
  void anAgentBurningCpuOverTheLimitForTheSustainWindowIsRestarted() {
    Agent a = restartedFor("burner", "OVER_THRESHOLD: CPU");
    assertTrue(a.getLastRestartReason().contains("above 50.0 %"), a.getLastRestartReason());
  }

  @Test
  void anAgentWhoseProbeFailsTwiceIsRestarted() {
    Agent a = restartedFor("slowhealth", "UNHEALTHY_PROBE: health probe failed 2 times in a row");
    assertTrue(
        a.getLastRestartReason().contains("timed out after 300 ms"), a.getLastRestartReason());
  }

  @Test
  void anAgentThatHeartbeatsWithoutProgressReadsNoData() {
    Agent stalled =
        Await.until(
            Duration.ofSeconds(30),
            "stalled to read NO_DATA",
            () -> stack.agent("stalled"),
            a -> a.getHealth() == Health.HEALTH_NO_DATA);
    assertEquals(3, stalled.getAvailability(), "NO_DATA is availability 3, not ON");
    assertEquals(
        Lifecycle.LIFECYCLE_RUNNING, stalled.getLifecycle(), "restart: false leaves it running");
    assertTrue(
        stalled.getMessage().startsWith("heartbeating, but no progress since"),
        stalled.getMessage());
    assertEquals(0, stalled.getRestartCount());
  }
}
