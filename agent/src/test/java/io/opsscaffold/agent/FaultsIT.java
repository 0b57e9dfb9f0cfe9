package io.opsscaffold.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.opsscaffold.testing.Await;
import jakarta.json.JsonObject;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Each fault switch, turned on in a real agent, produces the behaviour the daemon must catch. */
class FaultsIT extends RealAgentFixture {

  private String config(String faults) {
    return """
        agent_id: f1
        heartbeat_interval: 200ms
        daemon_url: %s
        http_port: 0
        state_file: %s
        faults:
        %s
        """
        .formatted(daemon.url(), dir.resolve("state.json"), faults.indent(2));
  }

  private void start(String faults, String... jvm) {
    agent = AgentProcess.start(dir, config(faults), jvm);
  }

  /** Turns faults on in the running agent, as a test of hot reload. */
  private void reload(String faults) throws Exception {
    Files.writeString(agent.config, config(faults));
    HttpResponse<String> res = agent.post("/reload");
    assertEquals(200, res.statusCode(), res.body());
  }

  @Test
  void crashAfterExitsWithTheGivenCode() throws Exception {
    start("crash_exit_code: 0");
    reload("crash_after: 300ms\ncrash_exit_code: 3");
    assertTrue(agent.process.waitFor(10, TimeUnit.SECONDS));
    assertEquals(3, agent.process.exitValue());
  }

  @Test
  void failAtStartExitsBeforeServing() throws Exception {
    agent = AgentProcess.launch(dir, config("fail_at_start: true\ncrash_exit_code: 7"));
    assertTrue(agent.process.waitFor(20, TimeUnit.SECONDS));
    assertEquals(7, agent.process.exitValue());
    assertTrue(daemon.received.isEmpty(), "no heartbeat was sent");
  }

  @Test
  void ignoreSigtermKeepsRunningUntilKilled() throws Exception {
    start("");
    reload("ignore_sigterm: true");
    assertEquals(-1, agent.terminate(Duration.ofSeconds(2)), "still alive 2 s after SIGTERM");
    int before = daemon.received.size();
    Await.until(
        Duration.ofSeconds(5),
        "heartbeats to go on",
        () -> daemon.received.size(),
        n -> n > before + 2);
    agent.process.destroyForcibly();
    assertTrue(agent.process.waitFor(5, TimeUnit.SECONDS));
    assertEquals(137, agent.process.exitValue());
  }

  @Test
  void aSigtermThatFollowsTheForkedChildrenAtOnceIsIgnoredToo() throws Exception {
    // A supervisor that sees the children may stop the agent straight away: by then it must already
    // be ignoring SIGTERM, not still setting up (that was a race: it died with 143).
    agent = AgentProcess.launch(dir, config("ignore_sigterm: true\nfork_children: 1"));
    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    // Polled without a pause, as the race is short. Only the fault's own shell counts: the JVM may
    // run
    // other short-lived children (ldconfig, for JNA) while it starts.
    while (agent.process.toHandle().children().noneMatch(FaultsIT::isForkedChild)) {
      assertTrue(
          agent.process.isAlive() && System.nanoTime() < deadline,
          "no child forked: " + agent.output());
    }
    int exit = agent.terminate(Duration.ofMillis(1500));
    assertEquals(
        -1, exit, "still alive after SIGTERM, exited with " + exit + ": " + agent.output());
  }

  private static boolean isForkedChild(ProcessHandle p) {
    return p.info()
        .arguments()
        .map(args -> String.join(" ", args).contains("trap '' TERM"))
        .orElse(false);
  }

  @Test
  void forkedChildrenShareTheProcessGroupAndIgnoreSigterm() throws Exception {
    start("fork_children: 2");
    List<ProcessHandle> children =
        Await.until(
            Duration.ofSeconds(10),
            "two children",
            () -> agent.process.toHandle().children().filter(ProcessHandle::isAlive).toList(),
            l -> l.size() == 2);
    for (ProcessHandle child : children) {
      assertEquals(processGroup(agent.pid()), processGroup(child.pid()), "same process group");
      child.destroy(); // SIGTERM
    }
    Await.holds(
        Duration.ofMillis(300),
        "the children to ignore SIGTERM",
        () -> children.stream().allMatch(ProcessHandle::isAlive));
  }

  @Test
  void cpuBurnShowsUpInTheAgentsOwnCpu() {
    start("cpu_burn_percent: 80");
    double cpu =
        Await.until(
            Duration.ofSeconds(15),
            "cpu over 50 %",
            () -> agent.json(agent.get("/metrics")).getJsonNumber("cpu_percent").doubleValue(),
            c -> c > 50);
    assertTrue(cpu <= 100);
  }

  @Test
  void memoryGrowsAtTheGivenRate() throws Exception {
    start("", "-Xmx256m");
    long before = agent.json(agent.get("/metrics")).getJsonNumber("memory_bytes").longValue();
    reload("memory_growth_mb_per_minute: 1200"); // 20 MB a second
    long after =
        Await.until(
            Duration.ofSeconds(15),
            "RSS to grow by 40 MB",
            () -> agent.json(agent.get("/metrics")).getJsonNumber("memory_bytes").longValue(),
            m -> m > before + 40L * 1024 * 1024);
    assertTrue(after > before);
  }

  @Test
  void stopHeartbeatGoesSilentWhileStayingAlive() throws Exception {
    start("");
    Await.until(Duration.ofSeconds(10), "a heartbeat", () -> daemon.received.size(), n -> n > 0);
    reload("stop_heartbeat: true");
    int silentFrom = daemon.received.size();
    Await.holds(
        Duration.ofSeconds(1),
        "silence (at most one heartbeat already under way) from a live agent",
        () -> agent.process.isAlive() && daemon.received.size() <= silentFrom + 1);
    assertEquals(200, agent.get("/health").statusCode(), "the process itself still answers");
  }

  @Test
  void stopProgressKeepsHeartbeatingWithFrozenCounters() throws Exception {
    start("");
    Await.until(Duration.ofSeconds(10), "a heartbeat", () -> daemon.received.size(), n -> n > 0);
    reload("stop_progress: true");
    int from = daemon.received.size() + 1;
    List<JsonObject> later =
        Await.until(
            Duration.ofSeconds(10),
            "four more heartbeats",
            () -> List.copyOf(daemon.received),
            l -> l.size() >= from + 4);
    long first = later.get(from).getJsonNumber("events_processed").longValue();
    long last = later.get(later.size() - 1).getJsonNumber("events_processed").longValue();
    assertEquals(first, last, "no progress while heartbeating");
    assertTrue(
        later.get(later.size() - 1).getJsonNumber("heartbeat_count").longValue()
            > later.get(from).getJsonNumber("heartbeat_count").longValue());
  }

  @Test
  void rejectReloadRefusesNewConfigurations() throws Exception {
    start("");
    Files.writeString(agent.config, config("reject_reload: true"));
    HttpResponse<String> res = agent.post("/reload");
    assertEquals(400, res.statusCode());
    assertTrue(agent.json(res).getString("message").contains("rejected"));
  }

  @Test
  void slowHealthAnswersAfterTheDelay() {
    start("health_delay: 700ms");
    long begun = System.nanoTime();
    assertEquals(200, agent.get("/health").statusCode());
    assertTrue(System.nanoTime() - begun >= Duration.ofMillis(700).toNanos());
  }

  private static String processGroup(long pid) throws Exception {
    String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
    String afterName = stat.substring(stat.lastIndexOf(')') + 2);
    return afterName.split(" ")[2];
  }
}
