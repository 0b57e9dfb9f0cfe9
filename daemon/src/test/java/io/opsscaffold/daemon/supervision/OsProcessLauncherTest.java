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
  void anAgentWithAUserRunsAsThatUserAndGroupInItsOwnGroup() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue(
        new com.sun.security.auth.module.UnixSystem().getUid() == 0,
        "starting an agent as another user needs a daemon running as root");
    RunAs nobody = RunAs.resolve("nobody", Path.of("/etc/passwd"), Path.of("/etc/group"));
    AgentSpec base = spec("sh", List.of("-c", "id -u; id -g; id -G; ps -o pgid= -p $$"));
    AgentSpec asNobody =
        new AgentSpec(
            base.id(),
            base.type(),
            base.command(),
            base.args(),
            base.workingDir(),
            base.env(),
            base.restart(),
            base.health(),
            base.stopTimeout(),
            base.autostart(),
            base.startSeconds(),
            base.stopSignal(),
            base.log(),
            base.config(),
            java.util.Optional.of(nobody));
    AgentLogs logs = new AgentLogs(dir.resolve("logs"));
    RunningProcess p = new OsProcessLauncher(logs).launch(asNobody);
    assertEquals(0, p.onExit().get(10, TimeUnit.SECONDS));
    assertEquals(
        List.of(
            Integer.toString(nobody.uid()),
            Integer.toString(nobody.gid()),
            Integer.toString(nobody.gid()),
            Long.toString(p.pid())),
        logs.tail("t", 10).stream().map(String::strip).toList(),
        "its user, its group and no other (root's groups are not kept), its own process group");
  }

  @Test
  void aUserThatDoesNotExistIsNamed() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> RunAs.resolve("no-such-user", Path.of("/etc/passwd"), Path.of("/etc/group")));
    assertEquals("no user 'no-such-user' on this host", e.getMessage());
    e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                RunAs.resolve(
                    "nobody:no-such-group", Path.of("/etc/passwd"), Path.of("/etc/group")));
    assertEquals("no group 'no-such-group' on this host", e.getMessage());
    assertEquals(
        new RunAs("10001:10002", 10001, 10002),
        RunAs.resolve("10001:10002", Path.of("/etc/passwd"), Path.of("/etc/group")),
        "ids without accounts, as in a container");
    e =
        assertThrows(
            IllegalArgumentException.class,
            () -> RunAs.resolve("10001", Path.of("/etc/passwd"), Path.of("/etc/group")));
    assertEquals(
        "user 10001 has no account on this host; give its group as a number too (10001:<gid>)",
        e.getMessage());
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
