package io.opsscaffold.manager.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.util.JsonFormat;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.opsscaffold.api.fleet.v1.BatchItemResult;
import io.opsscaffold.api.fleet.v1.BatchOperateResponse;
import io.opsscaffold.api.fleet.v1.FleetServiceGrpc;
import io.opsscaffold.api.fleet.v1.FollowAgentLogsRequest;
import io.opsscaffold.api.link.v1.AgentState;
import io.opsscaffold.api.link.v1.Command;
import io.opsscaffold.api.link.v1.CommandResult;
import io.opsscaffold.api.link.v1.DaemonMessage;
import io.opsscaffold.api.link.v1.Hello;
import io.opsscaffold.api.link.v1.LogChunk;
import io.opsscaffold.api.link.v1.ManagerMessage;
import io.opsscaffold.api.status.v1.Lifecycle;
import io.opsscaffold.manager.link.FakeDaemon;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Config pushes and log follows through the manager, against scripted daemons that answer as a real
 * one does (the real daemon's side is covered by the system tests).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ConfigAndFollowIT {
  private TestManager manager;
  private ManagedChannel channel;
  private final HttpClient http =
      HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  @BeforeAll
  void start() throws Exception {
    manager = TestManager.start();
    channel = manager.channel;
  }

  @AfterAll
  void stop() throws Exception {
    manager.close();
  }

  private FakeDaemon daemon(String id, String... agents) throws InterruptedException {
    FakeDaemon d =
        new FakeDaemon(channel, Hello.newBuilder().setNodeId(id).setHostname("host-" + id))
            .hello()
            .keepAlive();
    d.fullState(
        java.util.Arrays.stream(agents)
            .map(
                a ->
                    AgentState.newBuilder()
                        .setAgentId(a)
                        .setType("t")
                        .setLifecycle(Lifecycle.LIFECYCLE_RUNNING)
                        .setPid(5)
                        .build())
            .toArray(AgentState[]::new));
    d.next(ManagerMessage.BodyCase.ACK);
    return d;
  }

  private HttpResponse<String> post(String path, String json) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + manager.port() + path))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(json))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static BatchOperateResponse batch(HttpResponse<String> res) throws Exception {
    assertEquals(200, res.statusCode(), res.body());
    BatchOperateResponse.Builder b = BatchOperateResponse.newBuilder();
    JsonFormat.parser().merge(res.body(), b);
    return b.build();
  }

  @Test
  void pushesCarryEachAgentsFilesAndReportAppliedAndRolledBackOutcomes() throws Exception {
    FakeDaemon d = daemon("cfg-1", "good", "bad");
    List<Command> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
    d.answerCommands(
        c -> {
          seen.add(c);
          CommandResult.Builder r = CommandResult.newBuilder().setCommandId(c.getCommandId());
          return c.getPushConfig().getAgentId().equals("good")
              ? r.setSuccess(true)
                  .setConfigOutcome("APPLIED")
                  .setConfigHash("sha256:aaaaaaaaaaaa")
                  .setMessage("applied sha256:aaaaaaaaaaaa")
                  .build()
              : r.setSuccess(false)
                  .setErrorCode(Status.Code.ABORTED.value())
                  .setConfigOutcome("FAILED")
                  .setConfigHash("sha256:bbbbbbbbbbbb")
                  .setMessage(
                      "FAILED: the agent's reload answered 400; rolled back to sha256:bbbbbbbbbbbb")
                  .build();
        });
    BatchOperateResponse r =
        batch(
            post(
                "/api/v1/agents/batch/configs",
                """
        {"pushes": [
          {"nodeId": "cfg-1", "agentId": "good", "files": [{"fileName": "agent.yaml", "content": "a: 1\\n"},
                                                           {"fileName": "extra.conf", "content": "x"}]},
          {"nodeId": "cfg-1", "agentId": "bad", "files": [{"fileName": "agent.yaml", "content": "a: 2\\n"}]},
          {"nodeId": "cfg-1", "agentId": "missing", "files": [{"fileName": "agent.yaml", "content": "a: 3\\n"}]}
        ]}"""));
    assertEquals(3, r.getTotal());
    assertEquals(1, r.getSuccess());
    assertEquals(2, r.getFailed());
    BatchItemResult good = r.getResults(0);
    assertTrue(good.getOk());
    assertEquals("APPLIED", good.getOutcome());
    assertEquals("sha256:aaaaaaaaaaaa", good.getConfigHash());
    BatchItemResult bad = r.getResults(1);
    assertFalse(bad.getOk());
    assertEquals("FAILED", bad.getOutcome());
    assertEquals("ABORTED", bad.getCode());
    assertTrue(bad.getMessage().endsWith("rolled back to sha256:bbbbbbbbbbbb"), bad.getMessage());
    assertEquals("NOT_FOUND", r.getResults(2).getCode(), "unknown agents never reach a daemon");

    Command toGood =
        seen.stream()
            .filter(c -> c.getPushConfig().getAgentId().equals("good"))
            .findFirst()
            .orElseThrow();
    assertEquals(
        List.of("agent.yaml", "extra.conf"),
        toGood.getPushConfig().getFilesList().stream().map(f -> f.getName()).toList());
    assertEquals("a: 1\n", toGood.getPushConfig().getFiles(0).getContent());
    assertEquals(2, seen.size());

    String op =
        http.send(
                HttpRequest.newBuilder(
                        URI.create(
                            "http://127.0.0.1:"
                                + manager.port()
                                + "/api/v1/operations/"
                                + r.getOperationId()))
                    .build(),
                HttpResponse.BodyHandlers.ofString())
            .body();
    assertTrue(
        op.contains("\"kind\":\"batch-configs\"") || op.contains("\"kind\": \"batch-configs\""),
        op);
    assertTrue(op.contains("PARTIAL"), op);
    d.out.onCompleted();
  }

  @Test
  void aSelectorPushesTheSameFilesToEveryMatchingAgent() throws Exception {
    FakeDaemon d = daemon("cfg-sel", "s1", "s2");
    d.answerCommands(
        c ->
            CommandResult.newBuilder()
                .setCommandId(c.getCommandId())
                .setSuccess(true)
                .setConfigOutcome("UNCHANGED")
                .setConfigHash("sha256:cccccccccccc")
                .setMessage("unchanged")
                .build());
    BatchOperateResponse r =
        batch(
            post(
                "/api/v1/agents/batch/configs",
                "{\"selector\": {\"nodeId\": \"cfg-sel\"}, \"files\": [{\"fileName\": \"a.yaml\", \"content\": \"k: v\"}]}"));
    assertEquals(2, r.getSuccess());
    assertEquals("UNCHANGED", r.getResults(1).getOutcome());
    d.out.onCompleted();
  }

  @Test
  void unsafeOrOversizedFilesAreRefusedNamingTheFieldBeforeAnyDaemonIsAsked() throws Exception {
    String[][] cases = {
      {"../x", "pushes[0].files[0].fileName '../x' must be a plain file name"},
      {"/etc/passwd", "pushes[0].files[0].fileName '/etc/passwd' must be a plain file name"},
      {"dir/agent.yaml", "must be a plain file name"},
      {"..", "must be a plain file name"},
      {"", "pushes[0].files[0].fileName is required"},
    };
    for (String[] c : cases) {
      HttpResponse<String> res =
          post(
              "/api/v1/agents/batch/configs",
              "{\"pushes\": [{\"nodeId\": \"n\", \"agentId\": \"a\","
                  + " \"files\": [{\"fileName\": \""
                  + c[0]
                  + "\", \"content\": \"x\"}]}]}");
      assertEquals(400, res.statusCode(), c[0] + ": " + res.body());
      assertTrue(res.body().contains(c[1]), res.body());
    }
    String big = "x".repeat((1 << 20) + 1);
    HttpResponse<String> tooBig =
        post(
            "/api/v1/agents/batch/configs",
            "{\"pushes\": [{\"nodeId\": \"n\", \"agentId\": \"a\","
                + " \"files\": [{\"fileName\": \"big.conf\", \"content\": \""
                + big
                + "\"}]}]}");
    assertEquals(400, tooBig.statusCode());
    assertTrue(
        tooBig.body().contains("the limit is 1048576"),
        tooBig.body().substring(0, Math.min(300, tooBig.body().length())));
    HttpResponse<String> noFiles =
        post("/api/v1/agents/batch/configs", "{\"selector\": {\"nodeId\": \"n\"}}");
    assertEquals(400, noFiles.statusCode());
    assertTrue(noFiles.body().contains("files needs at least one file"), noFiles.body());
  }

  @Test
  void aFollowStreamsTheDaemonsLinesAndCancelsTheDaemonsFollowWhenTheClientGoesAway()
      throws Exception {
    FakeDaemon d = daemon("follow-1", "f");
    var pending =
        http.sendAsync(
            HttpRequest.newBuilder(
                    URI.create(
                        "http://127.0.0.1:"
                            + manager.port()
                            + "/api/v1/nodes/follow-1/agents/f/logs/follow?lines=3"))
                .build(),
            HttpResponse.BodyHandlers.ofInputStream());
    Command follow = d.next(ManagerMessage.BodyCase.COMMAND).getCommand();
    assertEquals("f", follow.getFollowLogs().getAgentId());
    assertEquals(3, follow.getFollowLogs().getLines());
    d.send(
        DaemonMessage.newBuilder()
            .setLogChunk(LogChunk.newBuilder().setCommandId(follow.getCommandId())));
    d.send(
        DaemonMessage.newBuilder()
            .setLogChunk(
                LogChunk.newBuilder()
                    .setCommandId(follow.getCommandId())
                    .addLines("one")
                    .addLines("two")));
    HttpResponse<InputStream> res = pending.get(10, TimeUnit.SECONDS);
    var reader =
        new java.io.BufferedReader(
            new java.io.InputStreamReader(res.body(), StandardCharsets.UTF_8));
    assertEquals(200, res.statusCode());
    assertEquals("{\"following\":true}", reader.readLine().replace(" ", ""));
    assertEquals("{\"line\":\"one\"}", reader.readLine().replace(" ", ""));
    assertEquals("{\"line\":\"two\"}", reader.readLine().replace(" ", ""));
    reader.close(); // the client goes away

    Command cancel = null;
    for (int i = 0; i < 50 && cancel == null; i++) {
      // the manager notices when it next writes: the daemon keeps sending lines
      d.send(
          DaemonMessage.newBuilder()
              .setLogChunk(
                  LogChunk.newBuilder().setCommandId(follow.getCommandId()).addLines("more " + i)));
      ManagerMessage m = d.received.poll(200, TimeUnit.MILLISECONDS);
      while (m != null && cancel == null) {
        if (m.getBodyCase() == ManagerMessage.BodyCase.COMMAND && m.getCommand().hasCancel()) {
          cancel = m.getCommand();
        }
        m = d.received.poll();
      }
    }
    assertTrue(cancel != null, "the daemon was told to stop following");
    assertEquals(follow.getCommandId(), cancel.getCancel().getCommandId());
    d.out.onCompleted();
  }

  @Test
  void aFollowEndsWithTheDaemonsErrorOrWhenTheDaemonDisconnects() throws Exception {
    FakeDaemon d = daemon("follow-2", "g");
    var stub = FleetServiceGrpc.newBlockingStub(channel);
    var events =
        stub.followAgentLogs(
            FollowAgentLogsRequest.newBuilder().setNodeId("follow-2").setAgentId("g").build());
    Command follow = d.next(ManagerMessage.BodyCase.COMMAND).getCommand();
    assertEquals(10, follow.getFollowLogs().getLines(), "0 means 10");
    d.send(
        DaemonMessage.newBuilder()
            .setLogChunk(LogChunk.newBuilder().setCommandId(follow.getCommandId())));
    assertTrue(events.next().getFollowing());
    d.out.onCompleted(); // the daemon goes away
    StatusRuntimeException gone =
        org.junit.jupiter.api.Assertions.assertThrows(StatusRuntimeException.class, events::next);
    assertEquals(Status.Code.UNAVAILABLE, gone.getStatus().getCode());
    assertTrue(
        gone.getStatus().getDescription().contains("follow-2"), gone.getStatus().getDescription());

    HttpResponse<String> tooMany =
        http.send(
            HttpRequest.newBuilder(
                    URI.create(
                        "http://127.0.0.1:"
                            + manager.port()
                            + "/api/v1/nodes/follow-2/agents/g/logs/follow?lines=1001"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(400, tooMany.statusCode());
    assertTrue(tooMany.body().contains("lines must be between 0 and 1000"), tooMany.body());
    HttpResponse<String> unknown =
        http.send(
            HttpRequest.newBuilder(
                    URI.create(
                        "http://127.0.0.1:"
                            + manager.port()
                            + "/api/v1/nodes/follow-2/agents/nope/logs/follow"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(404, unknown.statusCode(), unknown.body());
  }
}
