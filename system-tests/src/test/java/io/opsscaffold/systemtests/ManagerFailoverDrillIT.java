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
  private OtlpReceiver otlp;

  @BeforeAll
  void start() throws Exception {
    etcd = EtcdServer.start();
    client = Client.builder().endpoints(etcd.endpoint()).build();
    otlp = new OtlpReceiver();
    stack =
        new Stack(
                AGENTS,
                Stack.env(
                    Map.of(
                        "OTEL_EXPORTER_OTLP_ENDPOINT", otlp.endpoint(),
                        "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf",
                        "OTEL_METRICS_EXPORTER", "none",
                        "OTEL_BSP_SCHEDULE_DELAY", "100",
                        "OTEL_TRACES_EXPORTER", "otlp")))
            .twoManagers(etcd.endpoint());
    stack.startManager().startManager2().startDaemon();
  }

  @AfterAll
  void stop() {
    if (stack != null) {
      stack.close();
    }
    client.close();
    etcd.close();
    otlp.close();
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
    int heldPort = held.equals("m-a") ? stack.managerPort : stack.manager2Port;
    int otherPort = held.equals("m-a") ? stack.manager2Port : stack.managerPort;

    // Any manager answers any call: the one without the stream relays to the one with it, over
    // mutual TLS with the area's CA.
    stack.callManagerOn(otherPort);
    Await.until(
        Duration.ofSeconds(10),
        "the other manager to see the claim",
        () -> stack.get("/api/v1/nodes/" + Stack.NODE + "/agents/f2/logs?lines=5").statusCode(),
        code -> code == 200);
    long[] relayed = roundTrips(20);
    stack.callManagerOn(heldPort);
    long[] direct = roundTrips(20);
    System.out.printf(
        "drill manager-failover: log read relayed p50 %d ms, p99 %d ms; direct p50 %d ms,"
            + " p99 %d ms (20 calls each)%n",
        relayed[0], relayed[1], direct[0], direct[1]);
    stack.callManagerOn(otherPort);
    assertEquals(
        200, stack.post("/api/v1/nodes/" + Stack.NODE + "/agents/f2/restart", "").statusCode());
    // The relayed operation is one trace: the manager called, the relay between the managers,
    // the holder's command down the stream, and the daemon's work.
    OtlpReceiver.ReceivedSpan operate =
        Await.until(
            Duration.ofSeconds(30),
            "the relayed restart's span",
            () ->
                otlp.spans().stream()
                    .filter(
                        sp ->
                            sp.name().equals("operate agent")
                                && "f2".equals(sp.attributes().get("ops.agent.id")))
                    .findFirst()
                    .orElse(null),
            sp -> sp != null);
    List<OtlpReceiver.ReceivedSpan> trace =
        Await.until(
            Duration.ofSeconds(30),
            "the daemon's span and the relay's two in the same trace",
            () ->
                otlp.spans().stream().filter(sp -> sp.traceId().equals(operate.traceId())).toList(),
            // Each process exports its spans in its own batches: wait for all three to arrive.
            l ->
                l.stream().anyMatch(sp -> sp.name().equals("daemon operate agent"))
                    && l.stream().filter(sp -> sp.name().contains("PeerService/Relay")).count()
                        >= 2);
    assertTrue(
        trace.stream().filter(sp -> sp.name().contains("PeerService/Relay")).count() >= 2,
        "the relay's client and server spans are in the trace: "
            + trace.stream().map(OtlpReceiver.ReceivedSpan::name).toList());
    Await.until(
        Duration.ofSeconds(30), "every agent ON", () -> stack.allOn(AGENTS.size()), on -> on);
    Map<String, Long> pids = pids();
    int alertsBefore = stack.alerts().getTotal();
    long connectedBefore = Timestamps.toMillis(stack.node().getConnectedSince());

    // Churn: log reads through the surviving manager every 100 ms, before, during and after.
    java.util.List<String> answers = new java.util.concurrent.CopyOnWriteArrayList<>();
    java.util.concurrent.atomic.AtomicBoolean churning =
        new java.util.concurrent.atomic.AtomicBoolean(true);
    Thread churn =
        Thread.ofVirtual()
            .start(
                () -> {
                  while (churning.get()) {
                    long t = System.nanoTime();
                    var res = stack.get("/api/v1/nodes/" + Stack.NODE + "/agents/f1/logs?lines=1");
                    answers.add(res.statusCode() + " " + ms(t) + " " + res.body());
                    try {
                      Thread.sleep(100);
                    } catch (InterruptedException e) {
                      return;
                    }
                  }
                });

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
    churning.set(false);
    churn.join();
    // Every call during the failover was answered, within 2 s: with the logs, or with a 503 that
    // names the node (its manager was unreachable, or its daemon between managers).
    long unavailable = 0;
    for (String a : answers) {
      String[] parts = a.split(" ", 3);
      int code = Integer.parseInt(parts[0]);
      assertTrue(Long.parseLong(parts[1]) < 2000, "slow answer during the failover: " + a);
      assertTrue(
          code == 200 || (code == 503 && parts[2].contains(Stack.NODE)),
          "answer during the failover: " + a);
      unavailable += code == 503 ? 1 : 0;
    }
    System.out.printf(
        "drill manager-failover: %d calls through the survivor during the failover, %d answered"
            + " 503 naming the node, none slower than 2 s%n",
        answers.size(), unavailable);
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

  /** p50 and p99 (ms) of {@code n} log reads through the current manager. */
  private long[] roundTrips(int n) {
    long[] ms = new long[n];
    for (int i = 0; i < n; i++) {
      long t = System.nanoTime();
      var res = stack.get("/api/v1/nodes/" + Stack.NODE + "/agents/f1/logs?lines=5");
      ms[i] = ms(t);
      assertEquals(200, res.statusCode(), res.body());
    }
    java.util.Arrays.sort(ms);
    return new long[] {ms[n / 2], ms[Math.min(n - 1, (int) Math.ceil(n * 0.99) - 1)]};
  }

  private Map<String, Long> pids() {
    return Map.of("f1", stack.agent("f1").getPid() + 0L, "f2", stack.agent("f2").getPid() + 0L);
  }

  private static long ms(long since) {
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - since);
  }
}
