package io.opsscaffold.systemtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.reflection.v1.ServerReflectionGrpc;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.reflection.v1.ServerReflectionResponse;
import io.grpc.stub.StreamObserver;
import io.opsscaffold.api.fleet.v1.Agent;
import io.opsscaffold.api.fleet.v1.Connectivity;
import io.opsscaffold.api.fleet.v1.FleetServiceGrpc;
import io.opsscaffold.api.fleet.v1.GetNodeRequest;
import io.opsscaffold.api.fleet.v1.ListAgentsRequest;
import io.opsscaffold.api.fleet.v1.Node;
import io.opsscaffold.api.fleet.v1.OperateAgentRequest;
import io.opsscaffold.api.fleet.v1.OperateAgentResponse;
import io.opsscaffold.api.status.v1.Lifecycle;
import io.opsscaffold.testing.Await;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The spine, end to end: the packaged manager (on PostgreSQL), a daemon and two reference agents as
 * real processes, talking over real gRPC streams and HTTP on loopback. Tests run in order on one
 * stack because the later ones (manager restart, daemon stop) change it for good.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SpineIT {
  private static final String A1 = "agent-1";
  private static final String A2 = "agent-2";

  private OtlpReceiver traces;
  private Stack stack;
  private ManagedChannel channel;
  private FleetServiceGrpc.FleetServiceBlockingStub fleet;

  @BeforeAll
  void start() throws Exception {
    traces = new OtlpReceiver();
    stack =
        new Stack(
            List.of(A1, A2),
            Stack.env(
                Map.of(
                    "OTEL_TRACES_EXPORTER", "otlp",
                    "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf",
                    "OTEL_EXPORTER_OTLP_ENDPOINT", traces.endpoint(),
                    "OTEL_BSP_SCHEDULE_DELAY", "100")));
    stack.startManager().startDaemon();
    channel = stack.managerChannel();
    fleet = FleetServiceGrpc.newBlockingStub(channel);
  }

  @AfterAll
  void stop() throws Exception {
    if (channel != null) {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    if (stack != null) {
      stack.close();
    }
    traces.close();
  }

  private Agent agent(String id) {
    return stack.agents().getAgentsList().stream()
        .filter(a -> a.getAgentId().equals(id))
        .findFirst()
        .orElseThrow(() -> new AssertionError(id + " is not listed"));
  }

  @Test
  @Order(1)
  void bothAgentsAreRunningWithPidsAndAvailabilityOnWithin10Seconds() {
    long start = System.nanoTime();
    var agents =
        Await.until(
            Duration.ofSeconds(10),
            "both agents RUNNING with availability 0",
            stack::agents,
            r ->
                r.getAgentsCount() == 2
                    && r.getAgentsList().stream()
                        .allMatch(
                            a ->
                                a.getLifecycle() == Lifecycle.LIFECYCLE_RUNNING
                                    && a.getPid() > 0
                                    && a.getAvailability() == 0));
    // agent-1 heartbeats over HTTP, agent-2 over the daemon's Unix socket: both reach the manager.
    Await.until(
        Duration.ofSeconds(10),
        "heartbeats from both agents, over HTTP and the Unix socket",
        stack::agents,
        r -> r.getAgentsList().stream().allMatch(Agent::hasLastHeartbeat));
    System.out.printf(
        "both agents RUNNING and ON after %d ms%n", (System.nanoTime() - start) / 1_000_000);
    for (Agent a : agents.getAgentsList()) {
      assertEquals("ON", a.getAvailabilityName());
      assertEquals(
          a.getPid(),
          stack.agentProcess(a.getAgentId()).orElseThrow().pid(),
          "the listed pid is the real process of " + a.getAgentId());
    }
    Node node =
        Await.until(
            Duration.ofSeconds(10),
            "the node's host stats",
            () -> fleet.getNode(GetNodeRequest.newBuilder().setNodeId(Stack.NODE).build()),
            Node::hasHostStats);
    assertEquals(Connectivity.CONNECTIVITY_ONLINE, node.getConnectivity());
    assertEquals("it-area", node.getArea());
    assertEquals(2, node.getAgentCount());
    assertEquals(Runtime.getRuntime().availableProcessors(), node.getHostStats().getCores());
    assertTrue(node.getHostStats().getMemoryTotalBytes() > 0);
  }

  @Test
  @Order(2)
  void reflectionListsEveryServiceAndHealthServes() throws Exception {
    CompletableFuture<Set<String>> names = new CompletableFuture<>();
    StreamObserver<ServerReflectionRequest> requests =
        ServerReflectionGrpc.newStub(channel)
            .serverReflectionInfo(
                new StreamObserver<>() {
                  @Override
                  public void onNext(ServerReflectionResponse r) {
                    names.complete(
                        r.getListServicesResponse().getServiceList().stream()
                            .map(s -> s.getName())
                            .collect(Collectors.toSet()));
                  }

                  @Override
                  public void onError(Throwable t) {
                    names.completeExceptionally(t);
                  }

                  @Override
                  public void onCompleted() {}
                });
    requests.onNext(ServerReflectionRequest.newBuilder().setListServices("").build());
    Set<String> services = names.get(10, TimeUnit.SECONDS);
    requests.onCompleted();
    assertTrue(
        services.containsAll(
            Set.of(
                "opsscaffold.fleet.v1.FleetService",
                "opsscaffold.link.v1.DaemonLinkService",
                "grpc.health.v1.Health")),
        services.toString());
    HealthCheckResponse health =
        HealthGrpc.newBlockingStub(channel)
            .check(
                HealthCheckRequest.newBuilder()
                    .setService("opsscaffold.fleet.v1.FleetService")
                    .build());
    assertEquals(HealthCheckResponse.ServingStatus.SERVING, health.getStatus());
  }

  @Test
  @Order(3)
  void aKilledAgentIsRecordedThenRestartedWithANewPid() {
    Agent before =
        Await.until(
            Duration.ofSeconds(10),
            A1 + " running",
            () -> agent(A1),
            a -> a.getLifecycle() == Lifecycle.LIFECYCLE_RUNNING);
    ProcessHandle victim = ProcessHandle.of(before.getPid()).orElseThrow();
    long killedAt = System.nanoTime();
    victim.destroyForcibly(); // SIGKILL
    Agent exited =
        Await.until(
            Duration.ofSeconds(10),
            "the exit of " + A1 + " to be stored",
            () -> agent(A1),
            a ->
                a.hasLastExitCode() && a.getLastExitCode() == 137 && a.getPid() != before.getPid());
    long recordedMs = (System.nanoTime() - killedAt) / 1_000_000;
    System.out.printf(
        "kill -9 -> committed row showing the exit: %d ms (lifecycle %s, message '%s')%n",
        recordedMs, exited.getLifecycle(), exited.getMessage());
    Agent after =
        Await.until(
            Duration.ofSeconds(10),
            A1 + " RUNNING again",
            () -> agent(A1),
            a ->
                a.getLifecycle() == Lifecycle.LIFECYCLE_RUNNING
                    && a.getPid() > 0
                    && a.getPid() != before.getPid());
    System.out.printf(
        "kill -9 -> RUNNING with new pid %d: %d ms%n",
        after.getPid(), (System.nanoTime() - killedAt) / 1_000_000);
    assertEquals(137, after.getLastExitCode(), "exit by SIGKILL is reported as 128 + 9");
    assertEquals(1, after.getRestartCount());
    assertTrue(ProcessHandle.of(after.getPid()).map(ProcessHandle::isAlive).orElse(false));
  }

  @Test
  @Order(4)
  void restartOverHttpJsonAndOverGrpcEachGiveANewProcessAndTheDaemonsResult() {
    Agent before = agent(A2);
    HttpResponse<String> res =
        stack.post("/api/v1/nodes/" + Stack.NODE + "/agents/" + A2 + "/restart", "");
    assertEquals(200, res.statusCode(), res.body());
    OperateAgentResponse http = Stack.parse(res.body(), OperateAgentResponse.newBuilder());
    assertTrue(http.getSuccess());
    assertTrue(
        http.getMessage().startsWith("restarted (pid " + before.getPid() + " -> "),
        http.getMessage());
    assertNotEquals(before.getPid(), http.getAgent().getPid());
    assertEquals(Lifecycle.LIFECYCLE_RUNNING, http.getAgent().getLifecycle());
    assertFalse(ProcessHandle.of(before.getPid()).map(ProcessHandle::isAlive).orElse(false));
    assertTrue(
        ProcessHandle.of(http.getAgent().getPid()).map(ProcessHandle::isAlive).orElse(false));

    OperateAgentResponse grpc =
        fleet.operateAgent(
            OperateAgentRequest.newBuilder()
                .setNodeId(Stack.NODE)
                .setAgentId(A2)
                .setOperation("restart")
                .build());
    assertTrue(grpc.getSuccess());
    assertNotEquals(http.getAgent().getPid(), grpc.getAgent().getPid());
    assertTrue(grpc.getMessage().contains("-> " + grpc.getAgent().getPid()), grpc.getMessage());
    int newPid = grpc.getAgent().getPid();
    Await.until(
        Duration.ofSeconds(5),
        "the stored row to show pid " + newPid,
        () -> agent(A2),
        a -> a.getPid() == newPid && a.getLifecycle() == Lifecycle.LIFECYCLE_RUNNING);
    System.out.printf(
        "restart round trips: HTTP %s, gRPC %s (daemon-measured)%n",
        http.getDuration(), grpc.getDuration());

    OperateAgentResponse stopped =
        fleet.operateAgent(
            OperateAgentRequest.newBuilder()
                .setNodeId(Stack.NODE)
                .setAgentId(A2)
                .setOperation("stop")
                .build());
    assertEquals(Lifecycle.LIFECYCLE_STOPPED, stopped.getAgent().getLifecycle());
    assertEquals(
        1,
        Await.until(
                Duration.ofSeconds(5),
                "availability OFF",
                () -> agent(A2),
                a -> a.getAvailability() == 1)
            .getAvailability());
    OperateAgentResponse started =
        fleet.operateAgent(
            OperateAgentRequest.newBuilder()
                .setNodeId(Stack.NODE)
                .setAgentId(A2)
                .setOperation("start")
                .build());
    assertEquals(Lifecycle.LIFECYCLE_RUNNING, started.getAgent().getLifecycle());
  }

  @Test
  @Order(5)
  void oneOperationIsOneTraceAcrossManagerAndDaemon() {
    OperateAgentResponse res =
        fleet.operateAgent(
            OperateAgentRequest.newBuilder()
                .setNodeId(Stack.NODE)
                .setAgentId(A1)
                .setOperation("restart")
                .build());
    assertTrue(res.getSuccess());
    var operate =
        Await.until(
            Duration.ofSeconds(15),
            "the manager's operate span",
            traces::spans,
            spans ->
                spans.stream()
                    .anyMatch(
                        s ->
                            s.name().equals("operate agent") && s.service().equals("ops-manager")));
    String traceId =
        operate.stream()
            .filter(s -> s.name().equals("operate agent"))
            .reduce((a, b) -> b)
            .orElseThrow()
            .traceId();
    var inTrace =
        Await.until(
            Duration.ofSeconds(15),
            "daemon spans and the database write in trace " + traceId,
            () -> traces.spans().stream().filter(s -> s.traceId().equals(traceId)).toList(),
            spans ->
                spans.stream()
                        .anyMatch(
                            s ->
                                s.service().equals("ops-daemon")
                                    && s.name().equals("daemon operate agent"))
                    && spans.stream()
                        .anyMatch(
                            s ->
                                s.service().equals("ops-daemon")
                                    && s.name().equals("process.start"))
                    && spans.stream()
                        .anyMatch(
                            s ->
                                s.service().equals("ops-manager")
                                    && s.name().equals("fleet.apply agent state")));
    Set<String> services =
        inTrace.stream().map(OtlpReceiver.ReceivedSpan::service).collect(Collectors.toSet());
    assertEquals(Set.of("ops-manager", "ops-daemon"), services);
    System.out.println(
        "trace "
            + traceId
            + ": "
            + inTrace.stream().map(s -> s.service() + "/" + s.name()).sorted().toList());
  }

  @Test
  @Order(6)
  void badInputGetsAClearErrorAndNothingCrashes() {
    HttpResponse<String> unknownNode = stack.get("/api/v1/nodes/no-such-node/agents");
    assertEquals(404, unknownNode.statusCode());
    assertTrue(unknownNode.body().contains("node 'no-such-node' is not known"), unknownNode.body());
    StatusRuntimeException grpcNotFound =
        assertThrows(
            StatusRuntimeException.class,
            () ->
                fleet.listAgents(ListAgentsRequest.newBuilder().setNodeId("no-such-node").build()));
    assertEquals(Status.Code.NOT_FOUND, grpcNotFound.getStatus().getCode());
    assertTrue(grpcNotFound.getStatus().getDescription().contains("no-such-node"));

    HttpResponse<String> badOp =
        stack.post("/api/v1/nodes/" + Stack.NODE + "/agents/" + A1 + "/explode", "");
    assertEquals(400, badOp.statusCode());
    assertTrue(badOp.body().contains("valid operations: start, stop, restart"), badOp.body());
    StatusRuntimeException grpcBadOp =
        assertThrows(
            StatusRuntimeException.class,
            () ->
                fleet.operateAgent(
                    OperateAgentRequest.newBuilder()
                        .setNodeId(Stack.NODE)
                        .setAgentId(A1)
                        .setOperation("explode")
                        .build()));
    assertEquals(Status.Code.INVALID_ARGUMENT, grpcBadOp.getStatus().getCode());

    HttpResponse<String> badJson =
        stack.post("/api/v1/nodes/" + Stack.NODE + "/agents/" + A1 + "/restart", "{\"timeout\": ");
    assertEquals(400, badJson.statusCode());
    assertTrue(badJson.body().contains("invalid JSON body"), badJson.body());
    HttpResponse<String> unknownField =
        stack.post("/api/v1/nodes/" + Stack.NODE + "/agents/" + A1 + "/restart", "{\"colour\": 1}");
    assertEquals(400, unknownField.statusCode());
    assertTrue(unknownField.body().contains("colour"), unknownField.body());

    HttpResponse<String> unknownAgent = stack.get("/api/v1/nodes/" + Stack.NODE + "/agents/ghost");
    assertEquals(404, unknownAgent.statusCode());
    assertTrue(
        unknownAgent.body().contains("agent 'ghost' does not exist on node '" + Stack.NODE + "'"));

    HttpResponse<String> badPage = stack.get("/api/v1/nodes?pageSize=100000");
    assertEquals(400, badPage.statusCode());
    assertTrue(badPage.body().contains("pageSize"), badPage.body());

    HttpResponse<String> garbage = stack.postDaemon("/heartbeat", "{not json");
    assertEquals(400, garbage.statusCode());
    assertTrue(garbage.body().startsWith("{\"error\":\"malformed JSON"), garbage.body());
    HttpResponse<String> stranger =
        stack.postDaemon(
            "/heartbeat",
            "{\"agent_id\":\"stranger\",\"pid\":1,\"status\":\"running\",\"cpu\":1,\"memory\":1,\"timestamp\":\"2026-01-01T00:00:00Z\"}");
    assertEquals(400, stranger.statusCode());
    assertTrue(stranger.body().contains("unknown agent 'stranger'"), stranger.body());
    HttpResponse<String> noPid =
        stack.postDaemon(
            "/heartbeat",
            "{\"agent_id\":\"agent-1\",\"status\":\"running\",\"timestamp\":\"2026-01-01T00:00:00Z\"}");
    assertEquals(400, noPid.statusCode());
    assertEquals("{\"error\":\"pid is required\"}", noPid.body());

    assertTrue(stack.manager.alive() && stack.daemon.alive(), "manager and daemon are still up");
    assertEquals(200, stack.get("/api/v1/nodes").statusCode());
  }

  @Test
  @Order(7)
  void afterAManagerRestartTheDaemonReconnectsAndTheViewMatchesReality() {
    Map<String, Integer> pidsBefore =
        stack.agents().getAgentsList().stream()
            .collect(Collectors.toMap(Agent::getAgentId, Agent::getPid));
    assertEquals(0, stack.manager.stop(), "the manager exits cleanly on SIGTERM");

    // While the manager is away, the agents keep running with the same pids...
    for (var e : pidsBefore.entrySet()) {
      assertTrue(
          ProcessHandle.of(e.getValue()).map(ProcessHandle::isAlive).orElse(false),
          e.getKey() + " kept running");
    }
    // ...and a change happens that the manager must learn about after it comes back.
    ProcessHandle.of(pidsBefore.get(A1)).orElseThrow().destroyForcibly();
    ProcessHandle replacement =
        Await.until(
                Duration.ofSeconds(10),
                "the daemon to restart " + A1 + " on its own",
                () -> stack.agentProcess(A1),
                p -> p.isPresent() && p.get().pid() != pidsBefore.get(A1))
            .orElseThrow();

    long restartedAt = System.nanoTime();
    stack.startManager();
    var view =
        Await.until(
            Duration.ofSeconds(15),
            "the manager's view to equal the running processes",
            stack::agents,
            r ->
                r.getAgentsCount() == 2
                    && r.getAgentsList().stream()
                        .allMatch(a -> a.getLifecycle() == Lifecycle.LIFECYCLE_RUNNING)
                    && agentPid(r, A1) == replacement.pid()
                    && agentPid(r, A2) == pidsBefore.get(A2));
    System.out.printf(
        "manager restart -> view converged in %d ms%n",
        (System.nanoTime() - restartedAt) / 1_000_000);
    assertEquals(
        Set.of(A1, A2),
        view.getAgentsList().stream().map(Agent::getAgentId).collect(Collectors.toSet()));
    Node node = fleet.getNode(GetNodeRequest.newBuilder().setNodeId(Stack.NODE).build());
    assertEquals(Connectivity.CONNECTIVITY_ONLINE, node.getConnectivity());
  }

  @Test
  @Order(8)
  void everyOperationInTheLogNamesTheTokenItWasMadeWith() {
    var ops =
        fleet.listOperations(
            io.opsscaffold.api.fleet.v1.ListOperationsRequest.newBuilder()
                .setPageSize(1000)
                .build());
    assertTrue(ops.getOperationsCount() >= 2, "the restarts above were logged: " + ops);
    for (var op : ops.getOperationsList()) {
      assertEquals(
          "bootstrap-admin",
          op.getRequestedBy(),
          op.getOperationId() + " names the token, not a declared name");
    }
  }

  @Test
  @Order(9)
  void whenTheDaemonStopsItsNodeGoesOfflineAfterTheGraceAndAgentsReadMinusOne() {
    assertEquals(0, stack.daemon.stop(), "the daemon exits cleanly on SIGTERM");
    long stoppedAt = System.nanoTime();
    Node offline =
        Await.until(
            Duration.ofSeconds(15),
            "the node to go OFFLINE",
            () -> fleet.getNode(GetNodeRequest.newBuilder().setNodeId(Stack.NODE).build()),
            n -> n.getConnectivity() == Connectivity.CONNECTIVITY_OFFLINE);
    long offlineMs = (System.nanoTime() - stoppedAt) / 1_000_000;
    System.out.printf("daemon stopped -> node OFFLINE after %d ms (grace 2 s)%n", offlineMs);
    assertTrue(
        offlineMs >= 1_500, "the node stays ONLINE for the grace period (" + offlineMs + " ms)");
    assertTrue(offline.hasLastSeen());
    for (Agent a : stack.agents().getAgentsList()) {
      assertEquals(-1, a.getAvailability(), a.getAgentId());
      assertEquals("UNKNOWN", a.getAvailabilityName());
    }
    HttpResponse<String> unavailable =
        stack.post("/api/v1/nodes/" + Stack.NODE + "/agents/" + A1 + "/restart", "");
    assertEquals(503, unavailable.statusCode());
    assertTrue(
        unavailable.body().contains("daemon is not connected (last seen"), unavailable.body());
    StatusRuntimeException grpc =
        assertThrows(
            StatusRuntimeException.class,
            () ->
                fleet.operateAgent(
                    OperateAgentRequest.newBuilder()
                        .setNodeId(Stack.NODE)
                        .setAgentId(A1)
                        .setOperation("start")
                        .build()));
    assertEquals(Status.Code.UNAVAILABLE, grpc.getStatus().getCode());
    assertTrue(
        stack.agentProcess(A1).isEmpty() && stack.agentProcess(A2).isEmpty(),
        "the daemon stopped its agents on the way out");
  }

  private static int agentPid(io.opsscaffold.api.fleet.v1.ListAgentsResponse r, String id) {
    return r.getAgentsList().stream()
        .filter(a -> a.getAgentId().equals(id))
        .findFirst()
        .map(Agent::getPid)
        .orElse(-1);
  }
}
