package io.opsscaffold.daemon.supervision;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.opentelemetry.api.trace.TracerProvider;
import io.opsscaffold.daemon.health.HealthPolicy;
import io.opsscaffold.daemon.logs.LogPolicy;
import io.opsscaffold.daemon.restart.RestartPolicy;
import io.opsscaffold.testing.Await;
import io.opsscaffold.testing.ManualTime;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A daemon that exits with stop-agents-on-exit must not leave an agent running, whatever its runner
 * does. Time is manual: the 3 s grace past the stop timeout passes when the test says so.
 */
class SupervisorCloseTest {
  private final ManualTime time = new ManualTime();

  private static AgentSpec spec(String id) {
    return new AgentSpec(
        id,
        "test",
        "/bin/true",
        List.of(),
        Path.of("."),
        Map.of(),
        new RestartPolicy(
            io.opsscaffold.daemon.restart.RestartPolicy.Mode.ALWAYS,
            Duration.ofMillis(20),
            2,
            Duration.ofMillis(50),
            Duration.ofMinutes(10),
            3),
        HealthPolicy.defaults(),
        Duration.ofMillis(100),
        true,
        Duration.ZERO,
        "TERM",
        LogPolicy.defaults(),
        Optional.empty());
  }

  @Test
  void anAgentWhoseStopHangsIsKilledFromTheClosingThreadAfterTheGrace() throws Exception {
    FakeProcessLauncher launcher = new FakeProcessLauncher();
    launcher.termHangs = new CountDownLatch(1);
    Supervisor supervisor =
        new Supervisor(
            List.of(spec("stuck")),
            launcher,
            (s, c) -> {},
            time,
            TracerProvider.noop().get("test"));
    try {
      supervisor.startAll();
      Await.until(
          Duration.ofSeconds(5),
          "the agent to run",
          () -> supervisor.runner("stuck").orElseThrow().runningPid(),
          pid -> pid > 0);
      FakeProcessLauncher.FakeProcess process = launcher.last();

      // TERM hangs on the runner thread; close must not return with the agent alive
      CompletableFuture<Void> closed = CompletableFuture.runAsync(() -> supervisor.close(true));
      Await.until(
          Duration.ofSeconds(5), "the stop signal", () -> process.signals, l -> l.contains("TERM"));
      time.awaitTimers(1); // the closing thread's deadline: stop timeout + grace
      time.advance(Duration.ofMillis(100).plus(Supervisor.STOP_GRACE).minusMillis(1));
      assertFalse(process.exit.isDone(), "nothing is killed before the grace has passed");
      time.advance(Duration.ofMillis(1));
      closed.get(5, TimeUnit.SECONDS);

      assertEquals("TERM", process.signals.get(0));
      assertTrue(process.exit.isDone(), "the agent was killed before close returned");
      assertEquals(137, process.exit.join(), "killed by SIGKILL");
    } finally {
      launcher.termHangs.countDown();
    }
  }

  @Test
  void agentsThatStopNormallyEndOnTheirStopSignalWithoutWaitingForTheGrace() {
    FakeProcessLauncher launcher = new FakeProcessLauncher();
    Supervisor supervisor =
        new Supervisor(
            List.of(spec("a"), spec("b")),
            launcher,
            (s, c) -> {},
            time,
            TracerProvider.noop().get("test"));
    supervisor.startAll();
    Await.until(
        Duration.ofSeconds(5), "both agents to run", () -> launcher.all().size(), n -> n == 2);
    supervisor.close(true); // returns with time never moved: nothing waited for a timer
    for (FakeProcessLauncher.FakeProcess p : launcher.all()) {
      // TERM ends it; the KILL after the exit is for whatever is left of its process group.
      assertEquals(List.of("TERM", "KILL"), p.signals);
      assertEquals(143, p.exit.join(), "ended by SIGTERM");
    }
    assertEquals(0, time.pendingTimers(), "no timer is left behind");
  }
}
