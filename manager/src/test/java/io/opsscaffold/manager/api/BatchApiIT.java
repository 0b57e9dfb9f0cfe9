package io.opsscaffold.manager.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.util.JsonFormat;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.opsscaffold.api.fleet.v1.BatchItemResult;
import io.opsscaffold.api.fleet.v1.BatchOperateResponse;
import io.opsscaffold.api.fleet.v1.BatchProgress;
import io.opsscaffold.api.fleet.v1.ListOperationsResponse;
import io.opsscaffold.api.fleet.v1.Operation;
import io.opsscaffold.api.link.v1.AgentState;
import io.opsscaffold.api.link.v1.CommandResult;
import io.opsscaffold.api.link.v1.Hello;
import io.opsscaffold.api.link.v1.ManagerMessage;
import io.opsscaffold.api.link.v1.NodeLabels;
import io.opsscaffold.api.status.v1.Lifecycle;
import io.opsscaffold.manager.ManagerApp;
import io.opsscaffold.manager.ManagerSettings;
import io.opsscaffold.manager.link.FakeDaemon;
import io.opsscaffold.manager.persistence.TestDatabases;
import io.opsscaffold.observability.Telemetry;
import io.opsscaffold.observability.TelemetryPolicy;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** Batch operations over scripted daemons, one of them disconnected, on a manager on PostgreSQL. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BatchApiIT {
  private TestDatabases.Created pg;
  private Telemetry telemetry;
  private ManagerApp manager;
  private ManagedChannel channel;
  private final HttpClient http = HttpClient.newHttpClient();
  private final List<FakeDaemon> daemons = new ArrayList<>();
  private final AtomicInteger pids = new AtomicInteger(1000);
  private String alice;

  @BeforeAll
  void start() throws Exception {
    pg = TestDatabases.postgres();
    telemetry = Telemetry.start(new TelemetryPolicy("test", Optional.empty(), Optional.of("none")));
    manager =
        ManagerApp.start(
            new ManagerSettings(
                "127.0.0.1",
                0,
                pg.settings(Files.createTempDirectory("m")),
                Duration.ofSeconds(5),
                Duration.ofSeconds(30),
                Duration.ofSeconds(5),
                Optional.empty()),
            telemetry);
    channel = NettyChannelBuilder.forAddress("127.0.0.1", manager.port()).usePlaintext().build();
    // An operator token named alice: the operations log records its name, not a declared one.
    alice =
        io.opsscaffold.api.admin.v1.AdminServiceGrpc.newBlockingStub(channel)
            .createApiToken(
                io.opsscaffold.api.admin.v1.CreateApiTokenRequest.newBuilder()
                    .setName("alice")
                    .setRole("operator")
                    .build())
            .getSecret();
    daemons.add(daemon("b1", 8));
    daemons.add(daemon("b2", 8));
    FakeDaemon gone = daemon("b3", 4);
    gone.out.onCompleted(); // b3's daemon is not connected (but still within its grace period)
    gone.ended.get(5, TimeUnit.SECONDS);
  }

  private FakeDaemon daemon(String id, int agents) throws InterruptedException {
    FakeDaemon d =
        new FakeDaemon(
                channel,
                Hello.newBuilder()
                    .setNodeId(id)
                    .setIp("10.2.0." + id.charAt(1))
                    .setLabels(NodeLabels.newBuilder().setArea("batch")))
            .hello()
            .keepAlive()
            .answerCommands(
                c ->
                    CommandResult.newBuilder()
                        .setCommandId(c.getCommandId())
                        .setSuccess(true)
                        .setMessage("restarted (pid 1 -> " + pids.incrementAndGet() + ")")
                        .setAgent(
                            AgentState.newBuilder()
                                .setAgentId(c.getOperate().getAgentId())
                                .setLifecycle(Lifecycle.LIFECYCLE_RUNNING)
                                .setPid(pids.get()))
                        .build());
    AgentState[] states = new AgentState[agents];
    for (int i = 0; i < agents; i++) {
      states[i] =
          AgentState.newBuilder()
              .setAgentId("agent-" + i)
              .setType("t")
              .setLifecycle(Lifecycle.LIFECYCLE_RUNNING)
              .setPid(pids.incrementAndGet())
              .build();
    }
    d.fullState(states);
    d.next(ManagerMessage.BodyCase.ACK);
    return d;
  }

  @AfterAll
  void stop() throws Exception {
    daemons.forEach(d -> d.out.onCompleted());
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    manager.close();
    telemetry.close();
    pg.close();
  }

  private HttpResponse<String> post(String path, String json) {
    try {
      return http.send(
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + manager.port() + path))
              .header("Content-Type", "application/json")
              .header("Authorization", "Bearer " + alice)
              .header("x-ops-user", "mallory") // declared names are ignored
              .POST(HttpRequest.BodyPublishers.ofString(json))
              .build(),
          HttpResponse.BodyHandlers.ofString());
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private HttpResponse<String> get(String path) {
    try {
      return http.send(
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + manager.port() + path)).build(),
          HttpResponse.BodyHandlers.ofString());
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  @Test
  void aBatchOverTwentyAgentsOnThreeDaemonsReportsEachFailureWithItsReason() throws Exception {
    HttpResponse<String> res =
        post(
            "/api/v1/agents/batch/restart",
            "{\"selector\": {\"area\": \"batch\"}, \"concurrency\": 5, \"itemTimeout\": \"5s\"}");
    assertEquals(200, res.statusCode(), res.body());
    BatchOperateResponse.Builder b = BatchOperateResponse.newBuilder();
    JsonFormat.parser().merge(res.body(), b);
    BatchOperateResponse r = b.build();
    assertEquals(20, r.getTotal());
    assertEquals(16, r.getSuccess());
    assertEquals(4, r.getFailed());
    for (BatchItemResult item : r.getResultsList()) {
      if (item.getNodeId().equals("b3")) {
        assertEquals("UNAVAILABLE", item.getCode());
        assertTrue(
            item.getMessage().contains("node b3's daemon is not connected"), item.getMessage());
      } else {
        assertTrue(item.getOk(), item.toString());
        assertTrue(item.getMessage().startsWith("restarted"), item.getMessage());
      }
    }

    Operation.Builder ob = Operation.newBuilder();
    JsonFormat.parser().merge(get("/api/v1/operations/" + r.getOperationId()).body(), ob);
    Operation logged = ob.build();
    assertEquals("batch-restart", logged.getKind());
    assertEquals("alice", logged.getRequestedBy());
    assertEquals("PARTIAL", logged.getResult());
    assertEquals(20, logged.getResultsCount());
    assertEquals(32, logged.getTraceId().length(), "the trace id to look it up in Jaeger");
    assertTrue(logged.hasFinishedAt());
  }

  @Test
  void theStreamingVariantReportsEachTargetThenTheSummary() throws Exception {
    HttpResponse<java.util.stream.Stream<String>> res =
        http.send(
            HttpRequest.newBuilder(
                    URI.create(
                        "http://127.0.0.1:" + manager.port() + "/api/v1/agents/batch/stop/stream"))
                .header("Content-Type", "application/json")
                .POST(
                    HttpRequest.BodyPublishers.ofString(
                        "{\"targets\": [{\"nodeId\": \"b1\", \"agentId\": \"agent-0\"},"
                            + " {\"nodeId\": \"b1\", \"agentId\": \"nope\"}, {\"nodeId\": \"b2\", \"agentId\": \"agent-1\"}]}"))
                .build(),
            HttpResponse.BodyHandlers.ofLines());
    assertEquals("application/x-ndjson", res.headers().firstValue("Content-Type").orElse(""));
    List<BatchProgress> events = new ArrayList<>();
    for (String line : res.body().toList()) {
      BatchProgress.Builder p = BatchProgress.newBuilder();
      JsonFormat.parser().merge(line, p);
      events.add(p.build());
    }
    assertEquals(4, events.size());
    assertTrue(events.subList(0, 3).stream().allMatch(BatchProgress::hasItem));
    BatchOperateResponse summary = events.get(3).getSummary();
    assertEquals(3, summary.getTotal());
    assertEquals(1, summary.getFailed());
    BatchItemResult nope = summary.getResults(1);
    assertEquals("NOT_FOUND", nope.getCode());
    assertTrue(
        nope.getMessage().contains("agent 'nope' does not exist on node 'b1'"), nope.getMessage());
  }

  @Test
  void badBatchesAreRefusedAndSingleOperationsAreLoggedToo() throws Exception {
    HttpResponse<String> badOp =
        post("/api/v1/agents/batch/explode", "{\"selector\": {\"area\": \"batch\"}}");
    assertEquals(400, badOp.statusCode());
    assertTrue(badOp.body().contains("valid operations: start, stop, restart"), badOp.body());
    HttpResponse<String> none =
        post("/api/v1/agents/batch/start", "{\"selector\": {\"area\": \"nowhere\"}}");
    assertEquals(400, none.statusCode());
    assertTrue(none.body().contains("no targets"), none.body());
    assertEquals(
        400,
        post(
                "/api/v1/agents/batch/start",
                "{\"selector\": {\"area\": \"batch\"}, \"concurrency\": 500}")
            .statusCode());

    assertEquals(200, post("/api/v1/nodes/b2/agents/agent-7/restart", "").statusCode());
    ListOperationsResponse.Builder lb = ListOperationsResponse.newBuilder();
    JsonFormat.parser().merge(get("/api/v1/operations?kind=restart&pageSize=10").body(), lb);
    Operation single = lb.build().getOperations(0);
    assertEquals("restart", single.getKind());
    assertEquals("alice", single.getRequestedBy());
    assertEquals("SUCCEEDED", single.getResult());
    assertEquals("agent-7", single.getResults(0).getAgentId());
    assertEquals(404, get("/api/v1/operations/op-unknown").statusCode());
  }

  @Test
  void anOperationWhoseAuditCannotBeWrittenIsNotDone() throws Exception {
    int before = pids.get();
    try (java.sql.Connection c = java.sql.DriverManager.getConnection(pg.url(), pg.user(), "");
        java.sql.Statement st = c.createStatement()) {
      st.execute("ALTER TABLE operations RENAME TO operations_away");
      try {
        HttpResponse<String> single = post("/api/v1/nodes/b1/agents/agent-1/restart", "");
        assertEquals(503, single.statusCode(), single.body());
        assertTrue(single.body().contains("the operations log cannot be written"), single.body());
        HttpResponse<String> batch =
            post("/api/v1/agents/batch/restart", "{\"selector\": {\"nodeId\": \"b1\"}}");
        assertEquals(503, batch.statusCode(), batch.body());
        assertEquals(before, pids.get(), "no command reached a daemon");
      } finally {
        st.execute("ALTER TABLE operations_away RENAME TO operations");
      }
    }
    assertEquals(200, post("/api/v1/nodes/b1/agents/agent-1/restart", "").statusCode());
    assertTrue(pids.get() > before, "with the log back, the operation runs");
  }
}
