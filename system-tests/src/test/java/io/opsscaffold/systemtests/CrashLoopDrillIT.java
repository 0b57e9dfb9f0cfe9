package io.opsscaffold.systemtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.opsscaffold.api.fleet.v1.Agent;
import io.opsscaffold.api.fleet.v1.Alert;
import io.opsscaffold.api.fleet.v1.ListAlertsResponse;
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
 * Drill: an agent crashes at every start, for {@code ops.drill.crashloop} (20 s; 3 minutes with
 * {@code scripts/drill --long}), beside a healthy one. It is retried no faster than its capped
 * backoff, reaches CRASH_LOOP, and stays one open alert whose kind never flips and whose count
 * grows by one per attempt at most; its neighbour is untouched; the manager's rows equal the
 * daemon's view at the end.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CrashLoopDrillIT {
  private Stack stack;

  @BeforeAll
  void start() throws Exception {
    String crasher =
        """
          - id: crasher
            type: script
            command: sh
            args: ["-c", "echo 'fatal: no config' >&2; exit 3"]
            start-seconds: 200ms
            restart:
              policy: always
              initial-delay: 100ms
              multiplier: 2
              max-delay: 500ms
              crash-loop-after: 3
        """;
    stack = new Stack(List.of("steady"), Map.of(), crasher, Stack.env(Map.of()));
    stack.startManager().startDaemon();
  }

  @AfterAll
  void stop() {
    stack.close();
  }

  private List<Alert> crasherAlerts() {
    return Stack.<ListAlertsResponse>parse(
            stack.get("/api/v1/alerts?nodeId=" + Stack.NODE + "&state=open").body(),
            ListAlertsResponse.newBuilder())
        .getAlertsList()
        .stream()
        .filter(a -> a.getAgentId().equals("crasher"))
        .toList();
  }

  @Test
  void aCrashLoopIsOneSteadyAlertAndTouchesNothingElse() throws Exception {
    Duration span = Duration.parse("PT" + System.getProperty("ops.drill.crashloop", "20s"));
    Agent steady =
        Await.until(
            Duration.ofSeconds(30),
            "steady ON",
            () -> stack.agent("steady"),
            a -> a.getAvailabilityName().equals("ON"));
    Await.until(
        Duration.ofSeconds(30),
        "crasher in CRASH_LOOP with its alert",
        this::crasherAlerts,
        alerts -> alerts.size() == 1 && alerts.get(0).getKind().equals("CRASH_LOOP"));
    Agent first = stack.agent("crasher");
    Alert alert = crasherAlerts().get(0);

    long from = System.nanoTime();
    long end = from + span.toNanos();
    int samples = 0;
    while (System.nanoTime() < end) {
      List<Alert> now = crasherAlerts();
      assertEquals(1, now.size(), "one open alert for the whole incident: " + now);
      assertEquals(alert.getAlertId(), now.get(0).getAlertId(), "the same alert throughout");
      assertEquals("CRASH_LOOP", now.get(0).getKind(), "its kind does not flip");
      samples++;
      Thread.sleep(
          1_000); // the drill's sampling rhythm over its fixed span, not a wait on the code
    }
    double seconds = (System.nanoTime() - from) / 1e9;
    Agent last = stack.agent("crasher");
    Alert lastAlert = crasherAlerts().get(0);
    int restarts = last.getRestartCount() - first.getRestartCount();
    int counted = lastAlert.getCount() - alert.getCount();
    System.out.printf(
        "drill crash-loop: %d restarts in %.0f s (cap 500 ms), alert %s kind %s count +%d, %d"
            + " samples%n",
        restarts, seconds, lastAlert.getAlertId(), lastAlert.getKind(), counted, samples);
    assertEquals(Lifecycle.LIFECYCLE_CRASH_LOOP, last.getLifecycle(), last.getMessage());
    assertTrue(restarts >= 2, "it keeps being retried: " + restarts);
    // Each cycle takes at least 80 % of the 500 ms cap (full jitter above that floor would be
    // slower still); one more for the edges.
    assertTrue(
        restarts <= seconds / 0.4 + 1, restarts + " restarts in " + seconds + " s beat the cap");
    assertTrue(counted <= restarts + 1, "count +" + counted + " for " + restarts + " attempts");
    Agent steadyNow = stack.agent("steady");
    assertEquals(steady.getPid(), steadyNow.getPid(), "the neighbour kept its process");
    assertEquals(steady.getRestartCount(), steadyNow.getRestartCount());
    stack.assertManagerMatchesDaemon();
  }
}
