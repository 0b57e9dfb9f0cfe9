package io.opsscaffold.daemon.heartbeat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.opentelemetry.api.trace.TracerProvider;
import io.opentelemetry.context.Context;
import io.opsscaffold.daemon.health.HealthPolicy;
import io.opsscaffold.daemon.logs.LogPolicy;
import io.opsscaffold.daemon.restart.RestartPolicy;
import io.opsscaffold.daemon.supervision.AgentSpec;
import io.opsscaffold.daemon.supervision.OsProcessLauncher;
import io.opsscaffold.daemon.supervision.Supervisor;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The checks no parser can make, against a real supervised process. */
class HeartbeatIntakeTest {
  @TempDir Path dir;
  private Supervisor supervisor;
  private long pid;

  @BeforeEach
  void start() throws Exception {
    AgentSpec spec =
        new AgentSpec(
            "a1",
            "t",
            "sleep",
            List.of("60"),
            dir,
            Map.of(),
            RestartPolicy.defaults(),
            HealthPolicy.defaults(),
            Duration.ofSeconds(1),
            true,
            Duration.ZERO,
            "TERM",
            LogPolicy.defaults(),
            java.util.Optional.empty());
    supervisor =
        new Supervisor(
            List.of(spec),
            new OsProcessLauncher(new io.opsscaffold.daemon.logs.AgentLogs(dir)),
            (s, c) -> {},
            io.opsscaffold.time.Time.system(),
            TracerProvider.noop().get("t"));
    pid =
        supervisor.runner("a1").orElseThrow().start(Context.root()).get(10, TimeUnit.SECONDS).pid();
  }

  @AfterEach
  void stop() {
    supervisor.close(true);
  }

  private static Heartbeat hb(String agent, long pid, Instant at) {
    return new Heartbeat(agent, pid, "running", 1, 1, at, OptionalLong.empty());
  }

  @Test
  void theSupervisedProcessCountsAndAStrangerNamingItsPidDoesNot() {
    HeartbeatIntake intake = new HeartbeatIntake(supervisor, Clock.systemUTC());
    HeartbeatIntake.Outcome own =
        intake.accept(hb("a1", pid, Instant.now()), self(pid), Context.root());
    assertTrue(own.accepted() && own.verified() && own.warning().isEmpty(), own.toString());
    assertEquals("accepted", own.result());

    // The body names the agent's pid; the kernel says the sender is this test's JVM.
    long stranger = ProcessHandle.current().pid();
    HeartbeatIntake.Outcome foreign =
        intake.accept(hb("a1", pid, Instant.now()), self(stranger), Context.root());
    assertTrue(foreign.accepted(), "answered, so a confused agent is not told to retry");
    assertFalse(foreign.verified());
    assertEquals("unverified", foreign.result());
    assertEquals(
        "this heartbeat was not sent by agent 'a1' (process group "
            + pid
            + ") but by pid "
            + stranger
            + "; it was recorded as unverified and does not count as a sign of life",
        foreign.warning().orElseThrow());
    assertFalse(
        intake
            .accept(hb("a1", pid, Instant.now()), Sender.unknown("x"), Context.root())
            .verified());
    assertEquals(
        "unknown agent 'zz': this daemon supervises a1",
        intake
            .accept(hb("zz", pid, Instant.now()), self(pid), Context.root())
            .problem()
            .orElseThrow());
  }

  private static Sender self(long pid) {
    return Sender.process(pid, ProcSockets.system());
  }

  @Test
  void insaneTimestampsAreRefused() {
    HeartbeatIntake intake = new HeartbeatIntake(supervisor, Clock.systemUTC());
    HeartbeatIntake.Outcome future =
        intake.accept(
            hb("a1", pid, Instant.now().plus(Duration.ofHours(1))), self(pid), Context.root());
    assertFalse(future.accepted());
    assertTrue(future.problem().orElseThrow().contains("ahead of the daemon's clock"));
    assertFalse(
        intake
            .accept(hb("a1", pid, Instant.parse("2001-01-01T00:00:00Z")), self(pid), Context.root())
            .accepted());
    assertTrue(
        intake
            .accept(
                hb("a1", pid, Instant.now().minus(Duration.ofMinutes(5))),
                self(pid),
                Context.root())
            .accepted(),
        "a few minutes of clock skew are fine");
  }

  @Test
  void aFullIntakeSaysRetryInsteadOfQueueing() {
    HeartbeatIntake none = new HeartbeatIntake(supervisor, Clock.systemUTC(), 0);
    HeartbeatIntake.Outcome busy =
        none.accept(hb("a1", pid, Instant.now()), self(pid), Context.root());
    assertTrue(busy.busy());
    assertFalse(busy.accepted());
  }
}
