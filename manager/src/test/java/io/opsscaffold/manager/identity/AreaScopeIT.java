package io.opsscaffold.manager.identity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.opsscaffold.api.admin.v1.AdminServiceGrpc;
import io.opsscaffold.api.admin.v1.CreateApiTokenRequest;
import io.opsscaffold.api.link.v1.AgentState;
import io.opsscaffold.api.link.v1.CommandResult;
import io.opsscaffold.api.link.v1.Hello;
import io.opsscaffold.api.link.v1.NodeLabels;
import io.opsscaffold.api.status.v1.Lifecycle;
import io.opsscaffold.manager.ManagerApp;
import io.opsscaffold.manager.ManagerSettings;
import io.opsscaffold.manager.link.FakeDaemon;
import io.opsscaffold.manager.persistence.TestDatabases;
import io.opsscaffold.observability.Telemetry;
import io.opsscaffold.observability.TelemetryPolicy;
import io.opsscaffold.testing.Await;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * A token limited to area east, on a manager with nodes in east and west: it reads, operates and
 * pushes in east only; a batch reaching into west is refused whole; calls that do not honour areas
 * yet are refused to it.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AreaScopeIT {
  private Telemetry telemetry;
  private ManagerApp manager;
  private ManagedChannel channel;
  private String east;
  private final HttpClient http = HttpClient.newHttpClient();
  private final Map<String, AtomicInteger> commands = new ConcurrentHashMap<>();

  @BeforeAll
  void start() throws Exception {
    telemetry = Telemetry.start(new TelemetryPolicy("test", Optional.empty(), Optional.of("none")));
    manager =
        ManagerApp.start(
            new ManagerSettings(
                "127.0.0.1",
                0,
                TestDatabases.h2(),
                Duration.ofSeconds(5),
                Duration.ofSeconds(30),
                Duration.ofSeconds(5),
                Optional.empty()),
            telemetry);
    channel = NettyChannelBuilder.forAddress("127.0.0.1", manager.port()).usePlaintext().build();
    east =
        AdminServiceGrpc.newBlockingStub(channel)
            .createApiToken(
                CreateApiTokenRequest.newBuilder()
                    .setName("east-ops")
                    .setRole("operator")
                    .addAreas("east")
                    .build())
            .getSecret();
    daemon("e1", "east");
    daemon("w1", "west");
    Await.until(
        Duration.ofSeconds(10),
        "both nodes and their agents listed",
        () -> get("/api/v1/agents", null).body(),
        b -> b.contains("\"e1\"") && b.contains("\"w1\""));
  }

  private void daemon(String id, String area) throws Exception {
    commands.put(id, new AtomicInteger());
    FakeDaemon d =
        new FakeDaemon(
                channel,
                Hello.newBuilder().setNodeId(id).setLabels(NodeLabels.newBuilder().setArea(area)))
            .hello()
            .keepAlive()
            .answerCommands(
                c -> {
                  commands.get(id).incrementAndGet();
                  return CommandResult.newBuilder()
                      .setCommandId(c.getCommandId())
                      .setSuccess(true)
                      .setMessage("done")
                      .setAgent(
                          AgentState.newBuilder()
                              .setAgentId(c.getOperate().getAgentId())
                              .setLifecycle(Lifecycle.LIFECYCLE_RUNNING)
                              .setPid(42))
                      .build();
                });
    d.fullState(
        AgentState.newBuilder()
            .setAgentId("a-" + id)
            .setLifecycle(Lifecycle.LIFECYCLE_RUNNING)
            .setPid(42)
            .build(),
        AgentState.newBuilder()
            .setAgentId("looping-" + id)
            .setLifecycle(Lifecycle.LIFECYCLE_CRASH_LOOP)
            .build());
  }

  @AfterAll
  void stop() {
    channel.shutdownNow();
    manager.close();
    telemetry.close();
  }

  private HttpResponse<String> get(String path, String token) {
    return send(HttpRequest.newBuilder(uri(path)).GET(), token);
  }

  private HttpResponse<String> post(String path, String body, String token) {
    return send(
        HttpRequest.newBuilder(uri(path))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body)),
        token);
  }

  private URI uri(String path) {
    return URI.create("http://127.0.0.1:" + manager.port() + path);
  }

  private HttpResponse<String> send(HttpRequest.Builder b, String token) {
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    try {
      return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  @Test
  void readsShowOnlyItsAreaAndNameTheAreaWhenAskedForAnother() {
    String nodes = get("/api/v1/nodes", east).body();
    assertTrue(nodes.contains("\"e1\"") && !nodes.contains("\"w1\""), nodes);
    String agents = get("/api/v1/agents", east).body();
    assertTrue(agents.contains("a-e1") && !agents.contains("a-w1"), agents);
    HttpResponse<String> west = get("/api/v1/nodes?area=west", east);
    assertEquals(403, west.statusCode(), west.body());
    assertTrue(west.body().contains("area 'west' is outside the areas of this token"), west.body());
    assertEquals(403, get("/api/v1/nodes/w1", east).statusCode());
    assertEquals(403, get("/api/v1/nodes/w1/agents/a-w1", east).statusCode());
    assertEquals(404, get("/api/v1/agents/a-w1", east).statusCode(), "not among what it sees");
    assertEquals(200, get("/api/v1/nodes/e1/agents/a-e1", east).statusCode());
    String summary = get("/api/v1/availability/summary", east).body();
    assertTrue(summary.contains("east") && !summary.contains("west"), summary);
  }

  @Test
  void itOperatesInItsAreaOnlyAndABatchReachingOutIsRefusedWhole() {
    int eastBefore = commands.get("e1").get();
    int westBefore = commands.get("w1").get();
    assertEquals(
        200, post("/api/v1/nodes/e1/agents/a-e1/restart", "{}", east).statusCode(), "own area");
    HttpResponse<String> out = post("/api/v1/nodes/w1/agents/a-w1/restart", "{}", east);
    assertEquals(403, out.statusCode(), out.body());
    HttpResponse<String> mixed =
        post(
            "/api/v1/agents/batch/restart",
            "{\"targets\":[{\"nodeId\":\"e1\",\"agentId\":\"a-e1\"},"
                + "{\"nodeId\":\"w1\",\"agentId\":\"a-w1\"}]}",
            east);
    assertEquals(403, mixed.statusCode(), mixed.body());
    HttpResponse<String> push =
        post(
            "/api/v1/agents/batch/configs",
            "{\"pushes\":[{\"nodeId\":\"w1\",\"agentId\":\"a-w1\","
                + "\"files\":[{\"fileName\":\"agent.yaml\",\"content\":\"x: 1\"}]}]}",
            east);
    assertEquals(403, push.statusCode(), push.body());
    HttpResponse<String> everything =
        post("/api/v1/agents/batch/restart", "{\"selector\":{\"status\":\"ON\"}}", east);
    assertEquals(200, everything.statusCode(), everything.body());
    assertTrue(
        everything.body().contains("a-e1") && !everything.body().contains("a-w1"),
        "a selector reaches its area only: " + everything.body());
    assertEquals(westBefore, commands.get("w1").get(), "no command ever reached west");
    assertTrue(commands.get("e1").get() >= eastBefore + 2, "east was operated on");
  }

  @Test
  void alertsAndWatchesShowItsAreaOnly() {
    Await.until(
        Duration.ofSeconds(10),
        "a crash-loop alert in each area",
        () -> get("/api/v1/alerts?state=open", null).body(),
        b -> b.contains("looping-e1") && b.contains("looping-w1"));
    HttpResponse<String> alerts = get("/api/v1/alerts?state=open", east);
    assertEquals(200, alerts.statusCode(), alerts.body());
    assertTrue(
        alerts.body().contains("looping-e1") && !alerts.body().contains("looping-w1"),
        alerts.body());
    assertTrue(alerts.body().contains("\"total\":1"), alerts.body());
    HttpResponse<String> west = get("/api/v1/alerts?area=west", east);
    assertEquals(403, west.statusCode(), west.body());
    assertTrue(west.body().contains("area 'west' is outside the areas of this token"), west.body());

    io.grpc.Metadata auth = new io.grpc.Metadata();
    auth.put(
        io.grpc.Metadata.Key.of("authorization", io.grpc.Metadata.ASCII_STRING_MARSHALLER),
        "Bearer " + east);
    var stub =
        io.opsscaffold.api.fleet.v1.FleetServiceGrpc.newBlockingStub(channel)
            .withInterceptors(io.grpc.stub.MetadataUtils.newAttachHeadersInterceptor(auth))
            .withDeadlineAfter(10, java.util.concurrent.TimeUnit.SECONDS);
    java.util.List<String> seen = new java.util.ArrayList<>();
    var events =
        stub.watchAlerts(io.opsscaffold.api.fleet.v1.WatchAlertsRequest.getDefaultInstance());
    while (events.hasNext()) {
      var e = events.next();
      if (e.getChange().equals("SYNCED")) {
        break;
      }
      seen.add(e.getAlert().getAgentId());
    }
    assertEquals(java.util.List.of("looping-e1"), seen, "the alert watch of an east token");
    seen.clear();
    var agents =
        stub.watchAgents(io.opsscaffold.api.fleet.v1.WatchAgentsRequest.getDefaultInstance());
    while (agents.hasNext()) {
      var e = agents.next();
      if (e.getChange().equals("SYNCED")) {
        break;
      }
      seen.add(e.getAgent().getNodeId());
    }
    assertEquals(java.util.List.of("e1", "e1"), seen, "the agent watch of an east token");
  }

  @Test
  void callsThatDoNotHonourAreasAreRefusedToIt() {
    HttpResponse<String> operations = get("/api/v1/operations", east);
    assertEquals(403, operations.statusCode(), operations.body());
    assertTrue(operations.body().contains("limited to areas [east]"), operations.body());
    assertEquals(200, get("/api/v1/operations", null).statusCode(), "insecure mode's own admin");
  }
}
