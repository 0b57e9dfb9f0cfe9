package io.opsscaffold.systemtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.opsscaffold.api.fleet.v1.Agent;
import io.opsscaffold.api.fleet.v1.Node;
import io.opsscaffold.api.status.v1.Lifecycle;
import io.opsscaffold.testing.Await;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The packaged opsctl as a process against a real manager and daemon over TLS: login writes a
 * private context, listings print aligned tables (no colour when piped) and JSON, operations run,
 * and each kind of failure has its own exit code and one line.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OpsctlIT {
  private Stack stack;
  private Path config;

  /** What a run printed and how it ended. */
  record Run(int exit, String out, String err) {}

  @BeforeAll
  void start() throws Exception {
    stack = new Stack(List.of("a1", "a2"), Stack.env(Map.of()));
    stack.startManager().startDaemon();
    for (String id : List.of("a1", "a2")) {
      Await.until(
          Duration.ofSeconds(30),
          id + " ON",
          () -> stack.agent(id),
          a -> a.getAvailabilityName().equals("ON"));
    }
    config = stack.dir.resolve("opsctl").resolve("config");
    Path token = stack.dir.resolve("manager-data").resolve("admin.token");
    Run login =
        opsctl(
            Map.of(),
            "login",
            "127.0.0.1:" + stack.managerPort,
            "--token-file",
            token.toString(),
            "--ca",
            stack.dir.resolve("manager-tls").resolve("ca.crt").toString(),
            "--name",
            "it");
    assertEquals(0, login.exit(), login.err());
    assertTrue(login.out().startsWith("logged in to 127.0.0.1:"), login.out());
  }

  @AfterAll
  void stop() {
    stack.close();
  }

  Run opsctl(Map<String, String> env, String... args) throws IOException, InterruptedException {
    List<String> command =
        new ArrayList<>(
            List.of(
                AppProcess.javaBinary(),
                "-XX:TieredStopAtLevel=1",
                "-jar",
                Stack.root().resolve("cli/target/opsctl.jar").toString()));
    command.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(command);
    Map<String, String> e = new HashMap<>(env);
    e.putIfAbsent("OPSCTL_CONFIG", config.toString());
    pb.environment().putAll(e);
    Process p = pb.start();
    p.getOutputStream().close();
    var out = p.getInputStream().readAllBytes();
    var err = p.getErrorStream().readAllBytes();
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "opsctl ended");
    return new Run(
        p.exitValue(),
        new String(out, StandardCharsets.UTF_8),
        new String(err, StandardCharsets.UTF_8));
  }

  @Test
  void theContextIsPrivateAndListingsAreAlignedTablesWithoutColourWhenPiped() throws Exception {
    assertEquals(
        PosixFilePermissions.fromString("rw-------"),
        Files.getPosixFilePermissions(config),
        "the context file holds a token");
    Run nodes = opsctl(Map.of(), "get", "nodes");
    assertEquals(0, nodes.exit(), nodes.err());
    List<String> lines = nodes.out().lines().toList();
    assertEquals(2, lines.size(), nodes.out());
    assertTrue(
        lines.get(0).matches("NODE\\s{5}STATUS  AREA {5}AGENTS  ADDRESS\\s+SEEN"), lines.get(0));
    assertTrue(
        lines.get(1).matches("node-it  ONLINE  it-area  2 {7}\\S+\\s+\\d+[smhd]"), lines.get(1));
    assertFalse(nodes.out().contains("\u001b["), "no escape codes when piped");

    Run agents = opsctl(Map.of(), "get", "agents");
    assertEquals(
        List.of(
            "NODE     AGENT  STATUS  STATE    PID",
            "node-it  a1     ON      RUNNING  ",
            "node-it  a2     ON      RUNNING  "),
        agents.out().lines().map(l -> l.replaceAll("(PID|RUNNING  )\\b.*", "$1")).toList(),
        agents.out());
  }

  @Test
  void jsonIsWhatTheApiAnswers() throws Exception {
    Run run = opsctl(Map.of(), "get", "agents", "-o", "json");
    assertEquals(0, run.exit(), run.err());
    String body = "{\"agents\":" + run.out() + "}";
    var parsed =
        Stack.<io.opsscaffold.api.fleet.v1.ListFleetAgentsResponse>parse(
            body, io.opsscaffold.api.fleet.v1.ListFleetAgentsResponse.newBuilder());
    assertEquals(
        List.of("a1", "a2"), parsed.getAgentsList().stream().map(Agent::getAgentId).toList());
    Run node = opsctl(Map.of(), "describe", "node", "node-it", "-o", "json");
    Node n = Stack.parse(node.out(), Node.newBuilder());
    assertEquals("it-area", n.getArea());
  }

  @Test
  void anAgentIsRestartedAndTheLogNamesTheToken() throws Exception {
    int before = stack.agent("a2").getPid();
    Run run = opsctl(Map.of(), "restart", "node-it/a2");
    assertEquals(0, run.exit(), run.err());
    assertTrue(run.out().startsWith("node-it/a2 restart: restarted (pid " + before), run.out());
    Await.until(
        Duration.ofSeconds(20),
        "a2 running as a new process",
        () -> stack.agent("a2"),
        a -> a.getLifecycle() == Lifecycle.LIFECYCLE_RUNNING && a.getPid() != before);
    Run ops = opsctl(Map.of(), "get", "operations", "--kind", "restart");
    assertTrue(
        ops.out().lines().skip(1).findFirst().orElse("").contains("bootstrap-admin"), ops.out());
    Run describe = opsctl(Map.of(), "describe", "agent", "node-it/a2");
    assertTrue(describe.out().contains("Restarts:"), describe.out());
  }

  @Test
  void eachKindOfFailureHasItsExitCodeAndOneLine() throws Exception {
    Run missing = opsctl(Map.of(), "describe", "node", "ghost");
    assertEquals(3, missing.exit(), missing.err());
    assertEquals(
        "opsctl: not found: node 'ghost' is not known to the manager", lastLine(missing.err()));
    Run denied = opsctl(Map.of("OPSCTL_TOKEN", "abcdefghij." + "x".repeat(43)), "get", "nodes");
    assertEquals(4, denied.exit(), denied.err());
    assertTrue(lastLine(denied.err()).startsWith("opsctl: not authenticated:"), denied.err());
    Run down = opsctl(Map.of("OPSCTL_ADDRESS", "127.0.0.1:1"), "get", "nodes");
    assertEquals(5, down.exit(), down.err());
    assertTrue(lastLine(down.err()).startsWith("opsctl: unavailable:"), down.err());
    Run usage = opsctl(Map.of(), "restart", "no-slash");
    assertEquals(2, usage.exit(), usage.err());
    assertTrue(lastLine(usage.err()).contains("is not node/agent"), usage.err());
    Run plaintext =
        opsctl(
            Map.of(
                "OPSCTL_CONFIG",
                stack.dir.resolve("no-context").resolve("config").toString(),
                "OPSCTL_ADDRESS",
                "10.255.0.1:8080",
                "OPSCTL_TOKEN",
                "abcdefghij." + "x".repeat(43)),
            "get",
            "nodes");
    assertEquals(2, plaintext.exit(), "no token in clear over a network: " + plaintext.err());
    assertTrue(lastLine(plaintext.err()).contains("no CA to trust for 10.255.0.1:8080"));
    Run unknownCommand = opsctl(Map.of(), "explode");
    assertEquals(2, unknownCommand.exit(), unknownCommand.err());
  }

  @Test
  void loginCanPinTheCaByItsFingerprint() throws Exception {
    String fingerprint =
        io.opsscaffold.security.Fingerprints.sha256(
            io.opsscaffold.security.Pem.certificates(
                    Files.readString(stack.dir.resolve("manager-tls").resolve("ca.crt")))
                .get(0));
    Path other = stack.dir.resolve("opsctl-pinned").resolve("config");
    Map<String, String> env = Map.of("OPSCTL_CONFIG", other.toString());
    Run login =
        opsctl(
            env,
            "login",
            "127.0.0.1:" + stack.managerPort,
            "--token-file",
            stack.dir.resolve("manager-data").resolve("admin.token").toString(),
            "--ca-fingerprint",
            fingerprint);
    assertEquals(0, login.exit(), login.err());
    assertEquals(0, opsctl(env, "get", "nodes").exit());
    Run wrong =
        opsctl(
            Map.of("OPSCTL_CONFIG", stack.dir.resolve("opsctl-wrong").resolve("config").toString()),
            "login",
            "127.0.0.1:" + stack.managerPort,
            "--ca-fingerprint",
            "sha256:" + "00".repeat(32));
    assertEquals(4, wrong.exit(), "a manager with another CA is refused: " + wrong.err());
  }

  @Test
  void aBatchListsItsTargetsFirstAndShowsProgressOnATerminal() throws Exception {
    Run dry = opsctl(Map.of(), "restart", "--selector", "node=node-it", "--dry-run");
    assertEquals(0, dry.exit(), dry.err());
    assertTrue(dry.out().contains("would restart 2 agents (dry run: nothing done)"), dry.out());
    Run piped = opsctl(Map.of(), "restart", "-s", "node=node-it,status=ON", "--concurrency", "1");
    assertEquals(0, piped.exit(), piped.err());
    assertEquals(
        2, piped.out().lines().filter(l -> l.startsWith("ok node-it/")).count(), piped.out());
    assertTrue(piped.out().contains("restart: 2 ok, 0 failed of 2"), piped.out());
    // Under a pseudo-terminal (util-linux script): one progress line rewritten in place.
    for (String id : List.of("a1", "a2")) {
      Await.until(
          Duration.ofSeconds(30),
          id + " ON again",
          () -> stack.agent(id),
          a -> a.getAvailabilityName().equals("ON"));
    }
    String command =
        String.join(
            " ",
            AppProcess.javaBinary(),
            "-XX:TieredStopAtLevel=1",
            "-jar",
            Stack.root().resolve("cli/target/opsctl.jar").toString(),
            "restart",
            "-s",
            "node=node-it",
            "--concurrency",
            "1");
    ProcessBuilder pb = new ProcessBuilder("script", "-qec", command, "/dev/null");
    pb.environment().put("OPSCTL_CONFIG", config.toString());
    pb.redirectErrorStream(true);
    Process p = pb.start();
    p.getOutputStream().close();
    String tty = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS));
    assertEquals(0, p.exitValue(), tty);
    assertTrue(tty.contains("\r[##########----------] 1/2 done, 0 failed, 1 in flight"), tty);
    assertTrue(tty.contains("\r[####################] 2/2 done, 0 failed, 0 in flight"), tty);
    assertFalse(tty.contains("ok node-it/a1"), "no per-item lines on a terminal: " + tty);
  }

  @Test
  void logsAndAdminCommandsWork() throws Exception {
    Run logs = opsctl(Map.of(), "logs", "node-it/a1", "--tail", "2");
    assertEquals(0, logs.exit(), logs.err());
    assertEquals(2, logs.out().lines().count(), logs.out());
    Run created = opsctl(Map.of(), "token", "create", "watcher", "--role", "viewer");
    assertEquals(0, created.exit(), created.err());
    String viewer = created.out().strip();
    assertTrue(viewer.matches("[a-z0-9]{10}\\.[A-Za-z0-9_-]{43}"), "the secret, once: " + viewer);
    assertEquals(0, opsctl(Map.of("OPSCTL_TOKEN", viewer), "get", "agents").exit(), "it reads");
    Run denied = opsctl(Map.of("OPSCTL_TOKEN", viewer), "restart", "node-it/a1");
    assertEquals(4, denied.exit(), denied.err());
    assertTrue(lastLine(denied.err()).contains("needs the operator role"), denied.err());
    Run list = opsctl(Map.of(), "token", "list");
    assertTrue(list.out().contains("watcher") && !list.out().contains(viewer), list.out());
    Run join = opsctl(Map.of(), "enrollment-token", "create", "--max-uses", "1");
    assertTrue(join.out().startsWith("OPS1."), join.out());
  }

  @Test
  void availabilityTopAndAWatchThatSeesARestart() throws Exception {
    Run availability = opsctl(Map.of(), "availability");
    assertEquals(0, availability.exit(), availability.err());
    assertTrue(
        availability.out().lines().anyMatch(l -> l.matches("fleet\\s+-\\s+\\d+.*\\s2")),
        availability.out());
    Run top = opsctl(Map.of(), "top", "nodes");
    assertTrue(top.out().startsWith("NODE     CPU"), top.out());
    assertTrue(top.out().contains("node-it"), top.out());

    List<String> command =
        List.of(
            AppProcess.javaBinary(),
            "-jar",
            Stack.root().resolve("cli/target/opsctl.jar").toString(),
            "get",
            "agents",
            "--node",
            "node-it",
            "--watch");
    ProcessBuilder pb = new ProcessBuilder(command);
    pb.environment().put("OPSCTL_CONFIG", config.toString());
    Process watch = pb.start();
    try {
      var lines =
          new java.io.BufferedReader(
              new java.io.InputStreamReader(watch.getInputStream(), StandardCharsets.UTF_8));
      String first = lines.readLine();
      assertTrue(first != null && first.contains("node-it/"), "the current state first: " + first);
      int before = stack.agent("a1").getPid();
      assertEquals(0, opsctl(Map.of(), "restart", "node-it/a1").exit());
      String seen;
      do {
        seen = lines.readLine();
      } while (seen != null && !(seen.contains("node-it/a1") && !seen.contains("pid " + before)));
      assertTrue(seen != null, "the restart was seen as a change");
    } finally {
      watch.destroy();
      watch.waitFor(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void aConfigPushShowsItsDiffThenItsOutcome() throws Exception {
    String current = Files.readString(stack.configFile("a1"));
    assertTrue(current.contains("heartbeat_interval: 1s"), current);
    Path edited = stack.dir.resolve("edited").resolve("agent.yaml");
    Files.createDirectories(edited.getParent());
    Files.writeString(edited, current.replace("heartbeat_interval: 1s", "heartbeat_interval: 2s"));
    Run dry = opsctl(Map.of(), "config", "push", "node-it/a1", edited.toString(), "--dry-run");
    assertEquals(0, dry.exit(), dry.err());
    List<String> diff = dry.out().lines().toList();
    assertEquals("--- node-it/a1:agent.yaml", diff.get(0), dry.out());
    assertEquals("+++ agent.yaml", diff.get(1), dry.out());
    assertTrue(diff.contains("-heartbeat_interval: 1s"), dry.out());
    assertTrue(diff.contains("+heartbeat_interval: 2s"), dry.out());
    assertEquals(current, Files.readString(stack.configFile("a1")), "a dry run changes nothing");

    Run push = opsctl(Map.of(), "config", "push", "node-it/a1", edited.toString());
    assertEquals(0, push.exit(), push.err());
    String outcome = push.out().lines().reduce((a, b) -> b).orElse("");
    assertTrue(outcome.startsWith("node-it/a1 APPLIED sha256:"), push.out());
    assertTrue(Files.readString(stack.configFile("a1")).contains("heartbeat_interval: 2s"));
    Run again = opsctl(Map.of(), "config", "push", "node-it/a1", edited.toString());
    assertTrue(again.out().contains("no changes against node-it/a1's files"), again.out());
    assertTrue(again.out().contains("node-it/a1 UNCHANGED sha256:"), again.out());
  }

  private static String lastLine(String text) {
    List<String> lines =
        text.lines().filter(l -> !l.startsWith("WARNING:") && !l.isBlank()).toList();
    return lines.isEmpty() ? "" : lines.get(lines.size() - 1);
  }
}
