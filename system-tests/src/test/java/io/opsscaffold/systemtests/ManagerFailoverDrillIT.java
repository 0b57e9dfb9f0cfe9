package io.opsscaffold.systemtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.util.Timestamps;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.opsscaffold.api.fleet.v1.Connectivity;
import io.opsscaffold.testing.Await;
import io.opsscaffold.testing.EtcdServer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Drill: two managers of one area on one PostgreSQL and a real etcd, a daemon given both. The
 * manager holding the daemon's stream is killed with {@code kill -9}: the daemon is on the other
 * within seconds, its agents untouched, the node never OFFLINE, no alert opened; the dead manager's
 * registration goes with its lease and the other manager leads the area; operations through the
 * survivor work.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ManagerFailoverDrillIT {
  private static final List<String> AGENTS = List.of("f1", "f2");
  private EtcdServer etcd;
  private Client client;
  private Stack stack;

  @BeforeAll
  void start() throws Exception {
    etcd = EtcdServer.start();
    client = Client.builder().endpoints(etcd.endpoint()).build();
    stack = new Stack(AGENTS, Stack.env(Map.of())).twoManagers(etcd.endpoint());
    stack.startManager().startManager2().startDaemon();
  }

  @AfterAll
  void stop() {
    if (stack != null) {
      stack.close();
    }
    client.close();
    etcd.close();
  }

  private Optional<String> value(String key) {
    try {
      List<KeyValue> kvs =
          client
              .getKVClient()
              .get(ByteSequence.from(key, StandardCharsets.UTF_8))
              .get(5, TimeUnit.SECONDS)
              .getKvs();
      return kvs.isEmpty()
          ? Optional.empty()
          : Optional.of(kvs.getFirst().getValue().toString(StandardCharsets.UTF_8));
    } catch (Exception e) {
      throw new IllegalStateException("etcd read of " + key + " failed", e);
    }
  }

  /** Which manager holds the node's stream, by etcd's claim. */
  private String holder() {
    return value("streams/it-area/" + Stack.NODE).orElse(" ").split(" ")[0];
  }

  private boolean leads(String managerId) {
    return value("controllers/it-area/" + managerId)
        .map(v -> v.replace(" ", "").contains("\"leader\":\"true\""))
        .orElse(false);
  }

  @Test
  void killingTheManagerHoldingTheStreamMovesTheDaemonAndTheLeadWithoutHarm() throws Exception {
    Await.until(
        Duration.ofSeconds(60), "every agent ON", () -> stack.allOn(AGENTS.size()), on -> on);
    String held = Await.until(Duration.ofSeconds(10), "a claim", this::holder, h -> !h.isBlank());
    String other = held.equals("m-a") ? "m-b" : "m-a";
    Await.until(
        Duration.ofSeconds(10),
        "one leader",
        () -> (leads("m-a") ? 1 : 0) + (leads("m-b") ? 1 : 0),
        n -> n == 1);
    AppProcess victim = held.equals("m-a") ? stack.manager : stack.manager2;
    stack.callManagerOn(held.equals("m-a") ? stack.manager2Port : stack.managerPort);
    Map<String, Long> pids = pids();
    int alertsBefore = stack.alerts().getTotal();
    long connectedBefore = Timestamps.toMillis(stack.node().getConnectedSince());

    ProcessHandle process = ProcessHandle.of(victim.pid()).orElseThrow();
    long killedAt = System.nanoTime();
    process.destroyForcibly(); // kill -9
    process.onExit().get(10, TimeUnit.SECONDS);

    Await.until(Duration.ofSeconds(10), "the claim by " + other, this::holder, other::equals);
    long movedMs = ms(killedAt);
    Await.until(
        Duration.ofSeconds(10),
        "the node ONLINE on its new stream",
        stack::node,
        n ->
            n.getConnectivity() == Connectivity.CONNECTIVITY_ONLINE
                && Timestamps.toMillis(n.getConnectedSince()) > connectedBefore);
    Await.until(
        Duration.ofSeconds(10), "every agent ON", () -> stack.allOn(AGENTS.size()), on -> on);
    long convergedMs = ms(killedAt);
    Await.until(
        Duration.ofSeconds(15),
        "the dead manager's registration gone with its lease",
        () -> value("controllers/it-area/" + held),
        Optional::isEmpty);
    long registrationGoneMs = ms(killedAt);
    Await.until(Duration.ofSeconds(15), other + " leading", () -> leads(other), l -> l);
    long leadMs = ms(killedAt);
    System.out.printf(
        "drill manager-failover: daemon on %s %d ms after the kill, converged %d ms,"
            + " registration gone %d ms, lead at %d ms (lease 3 s)%n",
        other, movedMs, convergedMs, registrationGoneMs, leadMs);

    // No harm: the same agent processes, the node never judged OFFLINE, no alert.
    assertEquals(pids, pids(), "agents restarted by a manager's death");
    Await.holds(
        Duration.ofSeconds(3),
        "the node ONLINE and no alert",
        () ->
            stack.node().getConnectivity() == Connectivity.CONNECTIVITY_ONLINE
                && stack.alerts().getTotal() == alertsBefore);
    assertTrue(convergedMs < 10_000, "converged after " + convergedMs + " ms");

    // The survivor operates the node.
    assertEquals(
        200, stack.post("/api/v1/nodes/" + Stack.NODE + "/agents/f1/restart", "").statusCode());
    Await.until(
        Duration.ofSeconds(30), "every agent ON", () -> stack.allOn(AGENTS.size()), on -> on);
    stack.assertManagerMatchesDaemon();
  }

  private Map<String, Long> pids() {
    return Map.of("f1", stack.agent("f1").getPid() + 0L, "f2", stack.agent("f2").getPid() + 0L);
  }

  private static long ms(long since) {
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - since);
  }
}
