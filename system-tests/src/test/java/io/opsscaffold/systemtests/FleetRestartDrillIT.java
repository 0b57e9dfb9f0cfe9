package io.opsscaffold.systemtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.util.Timestamps;
import io.opsscaffold.api.daemon.v1.ListLocalAgentsResponse;
import io.opsscaffold.api.fleet.v1.Agent;
import io.opsscaffold.api.fleet.v1.Alert;
import io.opsscaffold.api.fleet.v1.Connectivity;
import io.opsscaffold.api.fleet.v1.ListAlertsResponse;
import io.opsscaffold.api.fleet.v1.ListFleetAgentsResponse;
import io.opsscaffold.api.fleet.v1.ListNodesResponse;
import io.opsscaffold.api.fleet.v1.Node;
import io.opsscaffold.testing.Await;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Drill: a fleet of real daemon processes ({@code ops.drill.daemons}: 20; 100 with {@code
 * scripts/drill --long}, N with {@code --daemons=N}), each supervising two agents, on one manager
 * with the daemons' and the manager's default link settings. The manager is killed with {@code kill
 * -9} and started again on the same database under churn: agents are killed while it is down and
 * while the fleet comes back, and an operator restarts an agent through the API as soon as the
 * manager answers. Every node must come back on a new stream and the manager's rows must equal
 * every daemon's own view; no agent that was not touched is restarted, no agent runs twice, no
 * alert opens for an agent that ran throughout.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FleetRestartDrillIT {
  private static final List<String> AGENTS = List.of("a1", "a2");

  /** A daemon of the fleet: its node id, directory, local API port and process. */
  private record Member(String node, Path dir, int port, AppProcess process) {}

  /** The {@code sleep} argument that tells the process of daemon {@code index}'s agent apart. */
  private static String marker(int index, String agent) {
    return String.valueOf(1_000_000 + index * 2 + AGENTS.indexOf(agent));
  }

  private final int size = Integer.getInteger("ops.drill.daemons", 20);
  private final HttpClient local =
      HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  private final List<Member> fleet = new ArrayList<>();
  private Stack stack;

  @BeforeAll
  void start() throws Exception {
    stack = new Stack(List.of(), Stack.env(Map.of()));
    // The manager's defaults except the database; the drill is about the defaults.
    String managerYaml = Files.readString(stack.dir.resolve("manager.yaml"));
    String link = "link:\n  ping-interval: 500ms\n  offline-grace: 2s\n";
    assertTrue(managerYaml.contains(link), "the stack's manager.yaml has changed: " + managerYaml);
    Files.writeString(stack.dir.resolve("manager.yaml"), managerYaml.replace(link, ""));
    stack.startManager();
    String join = stack.enrollmentToken(size);
    long startedAt = System.nanoTime();
    // The first daemon runs once to write a class-data archive that the fleet's JVMs then share
    // (less memory per daemon, quicker starts); its agents are started again with the fleet.
    Path archive = stack.dir.resolve("daemon.jsa");
    Member trainer = startMember(0, join, "-XX:ArchiveClassesAtExit=" + archive);
    Await.until(
        Duration.ofSeconds(60),
        "the first daemon ONLINE with its agents ON",
        this::agents,
        agents -> online(nodes()) == 1 && agents.getAgentsList().size() == AGENTS.size());
    trainer.process().stop();
    String share =
        Files.isRegularFile(archive) ? "-XX:SharedArchiveFile=" + archive : "-Xshare:auto";
    // In waves of ten, each online before the next starts: hundreds of JVMs starting at once on
    // a small machine only time each other out.
    for (int i = 0; i < size; i++) {
      fleet.add(startMember(i, join, share));
      if (fleet.size() % 10 == 0 || fleet.size() == size) {
        int started = fleet.size();
        Await.until(
            Duration.ofSeconds(300),
            started + " nodes ONLINE",
            this::nodes,
            nodes -> online(nodes) == started);
      }
    }
    Await.until(
        Duration.ofSeconds(60 + 4L * size),
        "all " + size + " nodes ONLINE with every agent ON",
        this::agents,
        agents ->
            online(nodes()) == size
                && agents.getAgentsList().stream()
                        .filter(a -> a.getAvailabilityName().equals("ON"))
                        .count()
                    == (long) size * AGENTS.size());
    System.out.printf(
        "drill fleet-restart: %d daemons started and every agent ON in %d ms%n",
        size, (System.nanoTime() - startedAt) / 1_000_000);
  }

  private Member startMember(int index, String join, String classData) throws IOException {
    String node = "fleet-%03d".formatted(index);
    Path dir = Files.createDirectories(stack.dir.resolve(node));
    int port = Stack.freePort();
    StringBuilder yaml =
        new StringBuilder(
            """
            node:
              id: %s
              labels:
                area: it-area
                zone: it-zone
                cloud-id: 0
            manager:
              address: 127.0.0.1:%d
              enrollment-token: %s
            server:
              port: %d
              local-api-tcp: true
            data-dir: %s
            agents:
            """
                .formatted(node, stack.managerPort, join, port, dir.resolve("data")));
    for (String agent : AGENTS) {
      yaml.append(
          """
            - id: %s
              type: script
              command: sleep
              args: ["%s"]
              start-seconds: 200ms
              heartbeat-timeout: 0
              restart:
                policy: always
                initial-delay: 200ms
          """
              .formatted(agent, marker(index, agent)));
    }
    Files.writeString(dir.resolve("daemon.yaml"), yaml.toString());
    // Small JVMs: hundreds of daemons share this machine in the long drill.
    AppProcess process =
        new AppProcess(
                "daemon",
                List.of(
                    "-Xms8m",
                    "-Xmx48m",
                    "-Xss512k",
                    classData,
                    // Map the archive where it was written, so its pages stay shared between
                    // the JVMs instead of being copied by each to relocate them.
                    "-XX:+UnlockDiagnosticVMOptions",
                    "-XX:ArchiveRelocationMode=0",
                    "-XX:+UseSerialGC",
                    "-XX:TieredStopAtLevel=1",
                    "-XX:ActiveProcessorCount=1"),
                Stack.jar("daemon"),
                dir.resolve("daemon.yaml"),
                stack.env,
                dir)
            .start();
    return new Member(node, dir, port, process);
  }

  @AfterAll
  void stop() {
    fleet.parallelStream().forEach(m -> m.process().stop());
    for (int i = 0; i < fleet.size(); i++) {
      for (String agent : AGENTS) {
        processes(marker(i, agent)).forEach(ProcessHandle::destroyForcibly);
      }
    }
    if (stack != null) {
      stack.close();
    }
  }

  @Test
  void aKilledManagerGetsItsWholeFleetBackUnderChurn() throws Exception {
    // Before the fault the manager's rows are the daemons' own view (this also has every daemon's
    // local API answer once, so asking them again later measures the fleet, not their warm-up).
    Await.until(
        Duration.ofSeconds(30),
        "the manager's rows to equal the daemons' views before the fault",
        () -> daemonViews().equals(managerView(agents())),
        equal -> equal);
    Map<String, Agent> before = byKey(agents());
    Set<String> alertsBefore = alertIds();
    long connectedBefore =
        nodes().getNodesList().stream()
            .mapToLong(n -> Timestamps.toMillis(n.getConnectedSince()))
            .max()
            .orElseThrow();

    ProcessHandle manager = ProcessHandle.of(stack.manager.pid()).orElseThrow();
    long killedAt = System.nanoTime();
    manager.destroyForcibly(); // kill -9
    manager.onExit().get(10, TimeUnit.SECONDS);

    // Churn while the manager is away: every fifth daemon's a1 is killed; its daemon restarts it.
    Set<String> churned = new HashSet<>();
    for (int i = 0; i < size; i += 5) {
      kill(i, "a1");
      churned.add(fleet.get(i).node() + "/a1");
    }

    stack.startManager(); // returns once it answers HTTP
    long readyAt = System.nanoTime();
    // Nothing from before the crash is shown as current.
    for (Node n : nodes().getNodesList()) {
      assertTrue(
          n.getConnectivity() != Connectivity.CONNECTIVITY_ONLINE
              || Timestamps.toMillis(n.getConnectedSince()) > connectedBefore,
          "a pre-crash stream shown as live: " + n);
    }
    // More churn while the fleet comes back: every fifth daemon, counted from the third, loses a2,
    // and an operator restarts one agent through the API at once.
    for (int i = 2; i < size; i += 5) {
      kill(i, "a2");
      churned.add(fleet.get(i).node() + "/a2");
    }
    Member operated = fleet.get(size - 1);
    churned.add(operated.node() + "/a2");
    long askedAt = System.nanoTime();
    HttpResponse<String> restart =
        stack.post("/api/v1/nodes/" + operated.node() + "/agents/a2/restart", "");
    long answeredMs = (System.nanoTime() - askedAt) / 1_000_000;
    assertTrue(
        restart.statusCode() == 200
            || (restart.statusCode() == 503 && answeredMs <= 2_000 && !restart.body().isBlank()),
        "an operator's restart during the reconnect answered "
            + restart.statusCode()
            + " in "
            + answeredMs
            + " ms: "
            + restart.body());

    Await.until(
        Duration.ofSeconds(60),
        "every node ONLINE on a new stream",
        this::nodes,
        nodes ->
            nodes.getNodesList().stream()
                    .filter(n -> n.getConnectivity() == Connectivity.CONNECTIVITY_ONLINE)
                    .filter(n -> Timestamps.toMillis(n.getConnectedSince()) > connectedBefore)
                    .count()
                == size);
    long reconnectedAt = System.nanoTime();
    // Converged: the first read of the manager's rows that equals the daemons' views. Asking
    // every daemon takes a while on a loaded machine, so each view is compared with the manager's
    // rows for up to 2 s before the daemons are asked again.
    long[] matchedAt = {0};
    Map<String, String> daemonsSaid =
        Await.until(
            Duration.ofSeconds(60),
            "the manager's rows to equal every daemon's own view",
            () -> {
              Map<String, String> daemons = daemonViews();
              long until = System.nanoTime() + 2_000_000_000L;
              do {
                long at = System.nanoTime();
                if (daemons.equals(managerView(agents()))) {
                  matchedAt[0] = at;
                  return daemons;
                }
                java.util.concurrent.locks.LockSupport.parkNanos(20_000_000L);
              } while (System.nanoTime() < until);
              return null;
            },
            views -> views != null);
    long convergedAt = matchedAt[0];
    if (restart.statusCode() == 503) {
      // The operator retries once the node is back, as the 503 says.
      assertEquals(
          200,
          stack.post("/api/v1/nodes/" + operated.node() + "/agents/a2/restart", "").statusCode());
    }

    List<Alert> opened =
        alerts().stream().filter(a -> !alertsBefore.contains(a.getAlertId())).toList();
    System.out.printf(
        "drill fleet-restart: %d daemons, %d agents churned; manager ready %d ms after the kill;"
            + " every node reconnected %d ms and converged %d ms after the manager was ready"
            + " (goal ≤ 10000 ms); an operator's restart answered %d in %d ms; alerts opened %d"
            + " (%s)%n",
        size,
        churned.size(),
        (readyAt - killedAt) / 1_000_000,
        (reconnectedAt - readyAt) / 1_000_000,
        (convergedAt - readyAt) / 1_000_000,
        restart.statusCode(),
        answeredMs,
        opened.size(),
        opened.stream()
            .map(a -> a.getKind() + " " + a.getNodeId() + "/" + a.getAgentId())
            .collect(Collectors.joining(", ")));

    // No alert for an agent that ran throughout.
    for (Alert a : opened) {
      assertTrue(
          churned.contains(a.getNodeId() + "/" + a.getAgentId()),
          "an alert for an agent that ran throughout: " + a);
    }
    // No agent that was left alone was restarted; every churned one was, and runs again.
    String operatedKey = operated.node() + "/a2";
    Map<String, Agent> after =
        Await.until(
            Duration.ofSeconds(30),
            "the operator's restart in the manager's rows",
            () -> byKey(agents()),
            rows -> rows.get(operatedKey).getPid() != before.get(operatedKey).getPid());
    for (var e : before.entrySet()) {
      Agent now = after.get(e.getKey());
      if (churned.contains(e.getKey())) {
        assertTrue(
            now.getPid() != e.getValue().getPid() && now.getPid() > 0,
            e.getKey() + " was killed and is running again: " + now);
      } else {
        assertEquals(e.getValue().getPid(), now.getPid(), e.getKey() + " kept its process");
        assertEquals(
            e.getValue().getRestartCount(),
            now.getRestartCount(),
            e.getKey() + " was not restarted");
      }
    }
    // Never two processes of one agent (one look at the process table for all of them).
    Map<String, Long> sleeping =
        ProcessHandle.allProcesses()
            .filter(ProcessHandle::isAlive)
            .flatMap(p -> p.info().commandLine().stream())
            .filter(c -> c.matches(".*sleep \\d+"))
            .collect(Collectors.groupingBy(c -> c.replaceAll(".* ", ""), Collectors.counting()));
    for (int i = 0; i < size; i++) {
      for (String agent : AGENTS) {
        assertEquals(
            1L,
            sleeping.getOrDefault(marker(i, agent), 0L),
            fleet.get(i).node() + "/" + agent + " runs as exactly one process");
      }
    }
    System.out.println(
        "drill end state: manager rows equal "
            + size
            + " daemons' views, "
            + daemonsSaid.size()
            + " agents");
  }

  /** Kills member {@code i}'s {@code agent} with SIGKILL (its daemon starts it again). */
  private void kill(int i, String agent) {
    String marker = marker(i, agent);
    List<ProcessHandle> running = processes(marker);
    assertEquals(1, running.size(), fleet.get(i).node() + "/" + agent + " runs once");
    running.get(0).destroyForcibly();
  }

  private static List<ProcessHandle> processes(String marker) {
    return ProcessHandle.allProcesses()
        .filter(p -> p.isAlive())
        .filter(p -> p.info().commandLine().map(c -> c.endsWith("sleep " + marker)).orElse(false))
        .toList();
  }

  private ListNodesResponse nodes() {
    return Stack.parse(
        stack.get("/api/v1/nodes?pageSize=1000").body(), ListNodesResponse.newBuilder());
  }

  private static long online(ListNodesResponse nodes) {
    return nodes.getNodesList().stream()
        .filter(n -> n.getConnectivity() == Connectivity.CONNECTIVITY_ONLINE)
        .count();
  }

  private ListFleetAgentsResponse agents() {
    HttpResponse<String> res = stack.get("/api/v1/agents?pageSize=1000");
    if (res.statusCode() != 200) {
      throw new IllegalStateException("GET agents answered " + res.statusCode());
    }
    return Stack.parse(res.body(), ListFleetAgentsResponse.newBuilder());
  }

  private List<Alert> alerts() {
    return Stack.<ListAlertsResponse>parse(
            stack.get("/api/v1/alerts?pageSize=1000").body(), ListAlertsResponse.newBuilder())
        .getAlertsList();
  }

  private Set<String> alertIds() {
    return alerts().stream().map(Alert::getAlertId).collect(Collectors.toSet());
  }

  private static Map<String, Agent> byKey(ListFleetAgentsResponse agents) {
    Map<String, Agent> byKey = new HashMap<>();
    agents.getAgentsList().forEach(a -> byKey.put(a.getNodeId() + "/" + a.getAgentId(), a));
    return byKey;
  }

  private static Map<String, String> managerView(ListFleetAgentsResponse agents) {
    Map<String, String> view = new TreeMap<>();
    for (Agent a : agents.getAgentsList()) {
      view.put(
          a.getNodeId() + "/" + a.getAgentId(),
          a.getLifecycle() + " pid " + a.getPid() + " restarts " + a.getRestartCount());
    }
    return view;
  }

  /** Each daemon's own view of its agents, from its local API, asked of all daemons at once. */
  private Map<String, String> daemonViews() {
    List<java.util.concurrent.CompletableFuture<HttpResponse<String>>> answers = new ArrayList<>();
    for (Member m : fleet) {
      answers.add(local.sendAsync(localRequest(m), HttpResponse.BodyHandlers.ofString()));
    }
    Map<String, String> view = new TreeMap<>();
    for (int i = 0; i < fleet.size(); i++) {
      HttpResponse<String> res = answers.get(i).join();
      if (res.statusCode() != 200) {
        throw new IllegalStateException(fleet.get(i).node() + " answered " + res.statusCode());
      }
      ListLocalAgentsResponse agents =
          Stack.parse(res.body(), ListLocalAgentsResponse.newBuilder());
      for (var a : agents.getAgentsList()) {
        var s = a.getState();
        view.put(
            fleet.get(i).node() + "/" + s.getAgentId(),
            s.getLifecycle() + " pid " + s.getPid() + " restarts " + s.getRestartCount());
      }
    }
    return view;
  }

  private static HttpRequest localRequest(Member m) {
    try {
      String token = Files.readString(m.dir().resolve("data").resolve("local-api.token")).strip();
      return HttpRequest.newBuilder(
              URI.create("http://127.0.0.1:" + m.port() + "/api/v1/local/agents"))
          .header("Authorization", "Bearer " + token)
          .GET()
          .build();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
