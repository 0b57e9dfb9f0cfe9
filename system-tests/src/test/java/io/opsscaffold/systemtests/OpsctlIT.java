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

  @BeforeAll
  void start() throws Exception {
    stack = new Stack(List.of("a1", "a2"), Stack.env(Map.of()));
    stack.startManager().startDaemon();
    bothOn();
    config = stack.dir.resolve("opsctl").resolve("config");
    Path token = stack.dir.resolve("manager-data").resolve("admin.token");
    OpsctlRunner.Run login =
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

  OpsctlRunner.Run opsctl(Map<String, String> env, String... args)
      throws IOException, InterruptedException {
    return new OpsctlRunner(config).run(env, args);
  }

  @Test
  void theContextIsPrivateAndListingsAreAlignedTablesWithoutColourWhenPiped() throws Exception {
    assertEquals(
        PosixFilePermissions.fromString("rw-------"),
        Files.getPosixFilePermissions(config),
        "the context file holds a token");
    OpsctlRunner.Run nodes = opsctl(Map.of(), "get", "nodes");
    assertEquals(0, nodes.exit(), nodes.err());
    List<String> lines = nodes.out().lines().toList();
    assertEquals(2, lines.size(), nodes.out());
    assertTrue(
        lines.get(0).matches("NODE\\s{5}STATUS  AREA {5}AGENTS  ADDRESS\\s+SEEN"), lines.get(0));
    assertTrue(
        lines.get(1).matches("node-it  ONLINE  it-area  2 {7}\\S+\\s+\\d+[smhd]"), lines.get(1));
    assertFalse(nodes.out().contains("\u001b["), "no escape codes when piped");

    OpsctlRunner.Run agents = opsctl(Map.of(), "get", "agents");
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
    OpsctlRunner.Run run = opsctl(Map.of(), "get", "agents", "-o", "json");
    assertEquals(0, run.exit(), run.err());
    String body = "{\"agents\":" + run.out() + "}";
    var parsed =
        Stack.<io.opsscaffold.api.fleet.v1.ListFleetAgentsResponse>parse(
            body, io.opsscaffold.api.fleet.v1.ListFleetAgentsResponse.newBuilder());
    assertEquals(
        List.of("a1", "a2"), parsed.getAgentsList().stream().map(Agent::getAgentId).toList());
    OpsctlRunner.Run node = opsctl(Map.of(), "describe", "node", "node-it", "-o", "json");
    Node n = Stack.parse(node.out(), Node.newBuilder());
    assertEquals("it-area", n.getArea());
  }

  @Test
  void anAgentIsRestartedAndTheLogNamesTheToken() throws Exception {
    int before = stack.agent("a2").getPid();
    OpsctlRunner.Run run = opsctl(Map.of(), "restart", "node-it/a2");
    assertEquals(0, run.exit(), run.err());
    assertTrue(run.out().startsWith("node-it/a2 restart: restarted (pid " + before), run.out());
    Await.until(
        Duration.ofSeconds(20),
        "a2 running as a new process",
        () -> stack.agent("a2"),
        a -> a.getLifecycle() == Lifecycle.LIFECYCLE_RUNNING && a.getPid() != before);
    OpsctlRunner.Run ops = opsctl(Map.of(), "get", "operations", "--kind", "restart");
    assertTrue(
        ops.out().lines().skip(1).findFirst().orElse("").contains("bootstrap-admin"), ops.out());
    OpsctlRunner.Run describe = opsctl(Map.of(), "describe", "agent", "node-it/a2");
    assertTrue(describe.out().contains("Restarts:"), describe.out());
  }

  @Test
  void eachKindOfFailureHasItsExitCodeAndOneLine() throws Exception {
    OpsctlRunner.Run missing = opsctl(Map.of(), "describe", "node", "ghost");
    assertEquals(3, missing.exit(), missing.err());
    assertEquals(
        "opsctl: not found: node 'ghost' is not known to the manager", lastLine(missing.err()));
    OpsctlRunner.Run denied =
        opsctl(Map.of("OPSCTL_TOKEN", "abcdefghij." + "x".repeat(43)), "get", "nodes");
    assertEquals(4, denied.exit(), denied.err());
    assertTrue(lastLine(denied.err()).startsWith("opsctl: not authenticated:"), denied.err());
    OpsctlRunner.Run down = opsctl(Map.of("OPSCTL_ADDRESS", "127.0.0.1:1"), "get", "nodes");
    assertEquals(5, down.exit(), down.err());
    assertTrue(lastLine(down.err()).startsWith("opsctl: unavailable:"), down.err());
    OpsctlRunner.Run usage = opsctl(Map.of(), "restart", "no-slash");
    assertEquals(2, usage.exit(), usage.err());
    assertTrue(lastLine(usage.err()).contains("is not node/agent"), usage.err());
    OpsctlRunner.Run plaintext =
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
    OpsctlRunner.Run unknownCommand = opsctl(Map.of(), "explode");
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
    OpsctlRunner.Run login =
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
    OpsctlRunner.Run wrong =
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
    OpsctlRunner.Run dry = opsctl(Map.of(), "restart", "--selector", "node=node-it", "--dry-run");
    assertEquals(0, dry.exit(), dry.err());
    assertTrue(dry.out().contains("would restart 2 agents (dry run: nothing done)"), dry.out());
    OpsctlRunner.Run piped =
        opsctl(Map.of(), "restart", "-s", "node=node-it,status=ON", "--concurrency", "1");
    assertEquals(0, piped.exit(), piped.err());
    assertEquals(
        2, piped.out().lines().filter(l -> l.startsWith("ok node-it/")).count(), piped.out());
    assertTrue(piped.out().contains("restart: 2 ok, 0 failed of 2"), piped.out());
    // Under a pseudo-terminal (util-linux script): one progress line rewritten in place.
    bothOn();
    OpsctlRunner.Run onTerminal =
        new OpsctlRunner(config)
            .onTerminal("", "restart", "-s", "node=node-it", "--concurrency", "1");
    String tty = onTerminal.out();
    assertEquals(0, onTerminal.exit(), tty);
    assertTrue(tty.contains("\r[##########----------] 1/2 done, 0 failed, 1 in flight"), tty);
    assertTrue(tty.contains("\r[####################] 2/2 done, 0 failed, 0 in flight"), tty);
    assertFalse(tty.contains("ok node-it/a1"), "no per-item lines on a terminal: " + tty);
  }

  @Test
  void logsAndAdminCommandsWork() throws Exception {
    OpsctlRunner.Run logs = opsctl(Map.of(), "logs", "node-it/a1", "--tail", "2");
    assertEquals(0, logs.exit(), logs.err());
    assertEquals(2, logs.out().lines().count(), logs.out());
    OpsctlRunner.Run created = opsctl(Map.of(), "token", "create", "watcher", "--role", "viewer");
    assertEquals(0, created.exit(), created.err());
    String viewer = created.out().strip();
    assertTrue(viewer.matches("[a-z0-9]{10}\\.[A-Za-z0-9_-]{43}"), "the secret, once: " + viewer);
    assertEquals(0, opsctl(Map.of("OPSCTL_TOKEN", viewer), "get", "agents").exit(), "it reads");
    OpsctlRunner.Run denied = opsctl(Map.of("OPSCTL_TOKEN", viewer), "restart", "node-it/a1");
    assertEquals(4, denied.exit(), denied.err());
    assertTrue(lastLine(denied.err()).contains("needs the operator role"), denied.err());
    OpsctlRunner.Run list = opsctl(Map.of(), "token", "list");
    assertTrue(list.out().contains("watcher") && !list.out().contains(viewer), list.out());
    OpsctlRunner.Run join = opsctl(Map.of(), "enrollment-token", "create", "--max-uses", "1");
    assertTrue(join.out().startsWith("OPS1."), join.out());
  }

  @Test
  void availabilityTopAndAWatchThatSeesARestart() throws Exception {
    OpsctlRunner.Run availability = opsctl(Map.of(), "availability");
    assertEquals(0, availability.exit(), availability.err());
    assertTrue(
        availability.out().lines().anyMatch(l -> l.matches("fleet\\s+-\\s+\\d+.*\\s2")),
        availability.out());
    OpsctlRunner.Run top = opsctl(Map.of(), "top", "nodes");
    assertTrue(top.out().startsWith("NODE     CPU"), top.out());
    assertTrue(top.out().contains("node-it"), top.out());
    OpsctlRunner.Run topAgents =
        Await.until(
            Duration.ofSeconds(20),
            "a sample of each agent",
            () -> {
              try {
                return opsctl(Map.of(), "top", "agents", "--node", "node-it");
              } catch (IOException | InterruptedException e) {
                throw new IllegalStateException(e);
              }
            },
            r -> r.exit() == 0 && r.out().lines().filter(l -> l.contains(" MiB ")).count() == 2);
    assertTrue(topAgents.out().startsWith("NODE     AGENT  CPU"), topAgents.out());

    ProcessBuilder pb =
        new ProcessBuilder(OpsctlRunner.command("get", "agents", "--node", "node-it", "--watch"));
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
    OpsctlRunner.Run dry =
        opsctl(Map.of(), "config", "push", "node-it/a1", edited.toString(), "--dry-run");
    assertEquals(0, dry.exit(), dry.err());
    List<String> diff = dry.out().lines().toList();
    assertEquals("--- node-it/a1:agent.yaml", diff.get(0), dry.out());
    assertEquals("+++ agent.yaml", diff.get(1), dry.out());
    assertTrue(diff.contains("-heartbeat_interval: 1s"), dry.out());
    assertTrue(diff.contains("+heartbeat_interval: 2s"), dry.out());
    assertEquals(current, Files.readString(stack.configFile("a1")), "a dry run changes nothing");

    OpsctlRunner.Run push = opsctl(Map.of(), "config", "push", "node-it/a1", edited.toString());
    assertEquals(0, push.exit(), push.err());
    String outcome = push.out().lines().reduce((a, b) -> b).orElse("");
    assertTrue(outcome.startsWith("node-it/a1 APPLIED sha256:"), push.out());
    assertTrue(Files.readString(stack.configFile("a1")).contains("heartbeat_interval: 2s"));
    OpsctlRunner.Run again = opsctl(Map.of(), "config", "push", "node-it/a1", edited.toString());
    assertTrue(again.out().contains("no changes against node-it/a1's files"), again.out());
    assertTrue(again.out().contains("node-it/a1 UNCHANGED sha256:"), again.out());
  }

  /** Waits until a1 and a2 are both ON (after a test restarted or pushed to them). */
  private void bothOn() {
    for (String id : List.of("a1", "a2")) {
      Await.until(
          Duration.ofSeconds(30),
          id + " ON",
          () -> stack.agent(id),
          a -> a.getAvailabilityName().equals("ON"));
    }
  }

  /** tmux, on a server of the test's own, as a real terminal whose screen can be read. */
  private static String tmux(String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of("tmux", "-L", "opsctl-it"));
    command.addAll(List.of(args));
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(10, TimeUnit.SECONDS), "tmux answered");
    return out;
  }

  @Test
  void aWatchOnATerminalRedrawsItsTableInPlace() throws Exception {
    String watch =
        "env OPSCTL_CONFIG="
            + config
            + " "
            + String.join(
                " ", OpsctlRunner.command("get", "agents", "--node", "node-it", "--watch"));
    tmux("new-session", "-d", "-s", "watch", "-x", "150", "-y", "30", watch);
    try {
      java.util.function.Supplier<String> screen =
          () -> {
            try {
              return tmux("capture-pane", "-p", "-t", "watch");
            } catch (IOException | InterruptedException e) {
              throw new IllegalStateException(e);
            }
          };
      Await.until(
          Duration.ofSeconds(30), "the first frame", screen, s -> s.contains("2 agents; last:"));
      long before = stack.agent("a1").getPid();
      assertEquals(0, opsctl(Map.of(), "restart", "node-it/a1").exit());
      long after =
          Await.until(
                  Duration.ofSeconds(30),
                  "a1 running again",
                  () -> stack.agent("a1"),
                  a -> a.getPid() > 0 && a.getPid() != before)
              .getPid();
      String shown =
          Await.until(
              Duration.ofSeconds(30),
              "the screen to show a1's new pid",
              screen,
              s -> s.lines().anyMatch(l -> l.contains(" a1 ") && l.contains(" " + after + " ")));
      List<String> lines = shown.lines().filter(l -> !l.isBlank()).toList();
      assertEquals(
          1,
          lines.stream().filter(l -> l.startsWith("NODE")).count(),
          "one table, redrawn in place: " + shown);
      assertEquals(
          0,
          lines.stream().filter(l -> l.contains(" " + before + " ")).count(),
          "a1's old row was rewritten, not left above: " + shown);
      assertTrue(lines.get(lines.size() - 1).startsWith("2 agents; last: "), shown);
    } finally {
      tmux("kill-server");
    }
    bothOn();
  }

  @Test
  void aPushBySelectorShowsEqualDiffsOnceAndCountsItsOutcomes() throws Exception {
    Path notes = stack.dir.resolve("selector").resolve("notes.txt");
    Files.createDirectories(notes.getParent());
    Files.writeString(notes, "owner: team-a\n");
    OpsctlRunner.Run dry =
        opsctl(
            Map.of(),
            "config",
            "push",
            "--selector",
            "node=node-it",
            notes.toString(),
            "--dry-run");
    assertEquals(0, dry.exit(), dry.err());
    List<String> lines = dry.out().lines().toList();
    assertEquals("# 2 agents: node-it/a1, node-it/a2", lines.get(0), dry.out());
    assertEquals("--- /dev/null", lines.get(1), dry.out());
    assertEquals("+++ notes.txt", lines.get(2), dry.out());
    assertTrue(lines.contains("+owner: team-a"), dry.out());
    assertTrue(dry.out().contains("would push to 2 agents (dry run: nothing done)"), dry.out());

    OpsctlRunner.Run push =
        opsctl(Map.of(), "config", "push", "-s", "node=node-it", notes.toString());
    assertEquals(0, push.exit(), push.out() + push.err());
    assertTrue(push.out().contains("config push: 2 APPLIED of 2"), push.out());
    OpsctlRunner.Run again =
        opsctl(Map.of(), "config", "push", "-s", "node=node-it", notes.toString());
    assertTrue(again.out().contains("no changes against its files"), again.out());
    assertTrue(again.out().contains("config push: 2 UNCHANGED of 2"), again.out());
    bothOn();
  }

  private static String lastLine(String text) {
    List<String> lines =
        text.lines().filter(l -> !l.startsWith("WARNING:") && !l.isBlank()).toList();
    return lines.isEmpty() ? "" : lines.get(lines.size() - 1);
  }
}
