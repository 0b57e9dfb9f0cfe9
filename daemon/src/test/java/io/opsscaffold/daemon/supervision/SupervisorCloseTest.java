package io.opsscaffold.daemon.supervision;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.opentelemetry.api.trace.TracerProvider;
import io.opsscaffold.daemon.health.HealthPolicy;
import io.opsscaffold.daemon.logs.LogPolicy;
import io.opsscaffold.daemon.restart.RestartPolicy;
import io.opsscaffold.testing.Await;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;

/** A daemon that exits with stop-agents-on-exit must not leave an agent running, whatever its runner does. */
class SupervisorCloseTest {
  private static AgentSpec spec(String id) {
    return new AgentSpec(id, "test", "/bin/true", List.of(), Path.of("."), Map.of(),
        new RestartPolicy("always", Duration.ofMillis(20), 2, Duration.ofMillis(50), Duration.ofMinutes(10), 3),
        HealthPolicy.defaults(), Duration.ofMillis(100), true, Duration.ZERO, "TERM", LogPolicy.defaults(), Optional.empty());
  }

  @Test
  void anAgentWhoseStopHangsIsKilledFromTheClosingThread() {
    FakeProcessLauncher launcher = new FakeProcessLauncher();
    launcher.termHangs = new CountDownLatch(1);
    Supervisor supervisor = new Supervisor(List.of(spec("stuck")), launcher, (s, c) -> { }, Clock.systemUTC(),
        TracerProvider.noop().get("test"));
    try {
      supervisor.startAll();
      Await.until(Duration.ofSeconds(5), "the agent to run", () -> supervisor.runner("stuck").orElseThrow().runningPid(),
          pid -> pid > 0);
      FakeProcessLauncher.FakeProcess process = launcher.last();

      supervisor.close(true); // TERM hangs on the runner thread; close must not return with the agent alive

      assertEquals("TERM", process.signals.get(0));
      assertTrue(process.exit.isDone(), "the agent was killed before close returned");
      assertEquals(137, process.exit.join(), "killed by SIGKILL");
    } finally {
      launcher.termHangs.countDown();
    }
  }

  @Test
  void agentsThatStopNormallyEndOnTheirStopSignal() {
    FakeProcessLauncher launcher = new FakeProcessLauncher();
    Supervisor supervisor = new Supervisor(List.of(spec("a"), spec("b")), launcher, (s, c) -> { }, Clock.systemUTC(),
        TracerProvider.noop().get("test"));
    supervisor.startAll();
    Await.until(Duration.ofSeconds(5), "both agents to run", () -> launcher.all().size(), n -> n == 2);
    supervisor.close(true);
    for (FakeProcessLauncher.FakeProcess p : launcher.all()) {
      // TERM ends it; the KILL after the exit is for whatever is left of its process group.
      assertEquals(List.of("TERM", "KILL"), p.signals);
      assertEquals(143, p.exit.join(), "ended by SIGTERM");
    }
  }
}
