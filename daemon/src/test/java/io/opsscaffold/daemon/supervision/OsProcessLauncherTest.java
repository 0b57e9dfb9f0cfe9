package io.opsscaffold.daemon.supervision;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.opsscaffold.daemon.logs.AgentLogs;
import io.opsscaffold.daemon.logs.LogPolicy;
import io.opsscaffold.daemon.restart.RestartPolicy;
import io.opsscaffold.testing.Await;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real child processes: own process group, output to the log file, exit codes as the JDK sees them.
 */
class OsProcessLauncherTest {
  @TempDir Path dir;

  private AgentSpec spec(String command, List<String> args) {
    return new AgentSpec(
        "t",
        "t",
        command,
        args,
        dir,
        Map.of("GREETING", "hello"),
        RestartPolicy.defaults(),
        io.opsscaffold.daemon.health.HealthPolicy.defaults(),
        Duration.ofSeconds(1),
        true,
        Duration.ZERO,
        "TERM",
        LogPolicy.defaults(),
        java.util.Optional.empty());
  }

  @Test
  void aChildRunsInItsOwnProcessGroupWithItsOutputInTheLog() throws Exception {
    AgentLogs logs = new AgentLogs(dir.resolve("logs"));
    RunningProcess p =
        new OsProcessLauncher(logs)
            .launch(spec("sh", List.of("-c", "echo $GREETING; echo oops >&2; exit 4")));
    assertEquals(4, p.onExit().get(10, TimeUnit.SECONDS));
    assertEquals(List.of("hello", "oops"), logs.tail("t", 10));
  }

  @Test
  void theGroupLeaderIsTheAgentItself() throws Exception {
    RunningProcess p =
        new OsProcessLauncher(new AgentLogs(dir)).launch(spec("sleep", List.of("30")));
    try {
      // setsid makes the new group before it execs the agent: wait for the exec, not for the group.
      String stat =
          Await.until(
              Duration.ofSeconds(5),
              "setsid to exec sleep in place",
              () -> readStat(p.pid()),
              s -> s.contains("(sleep)"));
      String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      assertEquals(Long.toString(p.pid()), f[2], "pgid == pid");
      p.signalGroup("TERM");
      assertEquals(128 + 15, p.onExit().get(10, TimeUnit.SECONDS));
    } finally {
      p.signalGroup("KILL");
    }
  }

  @Test
  void aStopSignalReachesAProcessThatHasNoGroupOfItsOwnYet() throws Exception {
    // As a launched agent is until setsid has run: it is still in the daemon's group.
    Process p = new ProcessBuilder("sleep", "30").start();
    try {
      ProcessGroups.signal(p.pid(), "TERM", p.toHandle());
      assertTrue(p.waitFor(10, TimeUnit.SECONDS), "the process was signalled alone");
      assertEquals(128 + 15, p.exitValue());
    } finally {
      p.destroyForcibly();
    }
  }

  private static String readStat(long pid) {
    try {
      return Files.readString(Path.of("/proc/" + pid + "/stat"));
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  @Test
  void aMissingOrNonExecutableBinaryFailsTheLaunchItself() throws Exception {
    OsProcessLauncher launcher = new OsProcessLauncher(new AgentLogs(dir));
    IOException missing =
        assertThrows(IOException.class, () -> launcher.launch(spec("/no/such/agent", List.of())));
    assertEquals("/no/such/agent: no such file", missing.getMessage());
    Path plain = Files.writeString(dir.resolve("plain.txt"), "not a program");
    IOException notExec =
        assertThrows(IOException.class, () -> launcher.launch(spec(plain.toString(), List.of())));
    assertTrue(notExec.getMessage().endsWith("not an executable file"));
    IOException notOnPath =
        assertThrows(
            IOException.class, () -> launcher.launch(spec("no-such-agent-xyz", List.of())));
    assertEquals("no-such-agent-xyz: not found on the PATH", notOnPath.getMessage());
  }
}
