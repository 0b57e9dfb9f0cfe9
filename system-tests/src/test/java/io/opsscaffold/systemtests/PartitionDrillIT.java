package io.opsscaffold.systemtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.opsscaffold.api.fleet.v1.Agent;
import io.opsscaffold.api.fleet.v1.Alert;
import io.opsscaffold.api.fleet.v1.Connectivity;
import io.opsscaffold.testing.Await;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Drill: the network between the daemon and the manager drops everything for a while (a proxy that
 * stops forwarding without closing, as a partition does), then comes back. Both sides notice the
 * silence; the agents run on untouched; the node is OFFLINE meanwhile and its agents UNKNOWN, never
 * OFF; afterwards it reconnects, the manager's rows equal the daemon's view again, and every alert
 * the partition opened was about the node being unreachable and is resolved.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PartitionDrillIT {
  private static final List<String> AGENTS = List.of("n1", "n2");
  private Stack stack;
  private io.opsscaffold.testing.TcpProxy proxy;

  @BeforeAll
  void start() throws Exception {
    stack = new Stack(AGENTS, Stack.env(Map.of()));
    proxy = new io.opsscaffold.testing.TcpProxy("127.0.0.1", stack.managerPort);
    Path daemonYaml = stack.dir.resolve("daemon.yaml");
    Files.writeString(
        daemonYaml,
        Files.readString(daemonYaml)
            .replace(
                "address: 127.0.0.1:" + stack.managerPort, "address: 127.0.0.1:" + proxy.port()));
    stack.startManager().startDaemon();
  }

  @AfterAll
  void stop() throws java.io.IOException {
    proxy.close();
    stack.close();
  }

  @Test
  void aPartitionedNodeIsOfflineMeanwhileAndConvergesAfterWithItsAgentsUntouched()
      throws Exception {
    Await.until(
        Duration.ofSeconds(30), "every agent ON", () -> stack.allOn(AGENTS.size()), on -> on);
    Map<String, Agent> before =
        stack.agents().getAgentsList().stream()
            .collect(Collectors.toMap(Agent::getAgentId, a -> a));
    int alertsBefore = stack.alerts().getTotal();

    long cutAt = System.nanoTime();
    proxy.freeze();
    Await.until(
        Duration.ofSeconds(30),
        "the manager to see the node OFFLINE",
        stack::node,
        n -> n.getConnectivity() == Connectivity.CONNECTIVITY_OFFLINE);
    long offlineMs = (System.nanoTime() - cutAt) / 1_000_000;
    for (Agent a : stack.agents().getAgentsList()) {
      assertEquals("UNKNOWN", a.getAvailabilityName(), a.getAgentId() + " while unreachable");
    }
    // The daemon, on its side, keeps its agents as they were.
    var local =
        Stack.<io.opsscaffold.api.daemon.v1.ListLocalAgentsResponse>parse(
            stack.getDaemon("/api/v1/local/agents").body(),
            io.opsscaffold.api.daemon.v1.ListLocalAgentsResponse.newBuilder());
    for (var a : local.getAgentsList()) {
      assertEquals(
          before.get(a.getState().getAgentId()).getPid(),
          a.getState().getPid(),
          a.getState().getAgentId() + " kept running during the partition");
    }

    long healedAt = System.nanoTime();
    proxy.thaw();
    Await.until(
        Duration.ofSeconds(30),
        "the node ONLINE again",
        stack::node,
        n -> n.getConnectivity() == Connectivity.CONNECTIVITY_ONLINE);
    long onlineMs = (System.nanoTime() - healedAt) / 1_000_000;
    Await.until(
        Duration.ofSeconds(30), "every agent ON again", () -> stack.allOn(AGENTS.size()), on -> on);
    long convergedMs = (System.nanoTime() - healedAt) / 1_000_000;

    List<Alert> opened =
        stack.alerts().getAlertsList().stream()
            .limit(Math.max(0, stack.alerts().getTotal() - alertsBefore))
            .toList();
    System.out.printf(
        "drill partition: node OFFLINE %d ms after the cut; ONLINE %d ms and every agent ON %d ms"
            + " after the heal; alerts opened %d (%s)%n",
        offlineMs,
        onlineMs,
        convergedMs,
        opened.size(),
        opened.stream().map(a -> a.getKind() + " " + a.getAgentId()).toList());
    for (Alert a : opened) {
      assertEquals("UNKNOWN", a.getKind(), "only unreachability, never a fault: " + a);
      assertTrue(
          Await.until(
                  Duration.ofSeconds(15),
                  "alert " + a.getAlertId() + " resolved",
                  () ->
                      stack.alerts().getAlertsList().stream()
                          .filter(x -> x.getAlertId().equals(a.getAlertId()))
                          .findFirst()
                          .orElseThrow(),
                  Alert::hasResolvedAt)
              .hasResolvedAt());
    }
    for (Agent a : stack.agents().getAgentsList()) {
      Agent was = before.get(a.getAgentId());
      assertEquals(was.getPid(), a.getPid(), a.getAgentId() + " kept its process");
      assertEquals(was.getRestartCount(), a.getRestartCount(), a.getAgentId() + " not restarted");
    }
    stack.assertManagerMatchesDaemon();
  }
}
