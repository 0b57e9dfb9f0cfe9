package io.opsscaffold.systemtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.util.JsonFormat;
import io.opsscaffold.api.fleet.v1.Agent;
import io.opsscaffold.api.fleet.v1.BatchItemResult;
import io.opsscaffold.api.fleet.v1.BatchOperateResponse;
import io.opsscaffold.testing.Await;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.time.Duration;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Config pushes from the manager through the real daemon into real agents' config directories: one
 * agent takes its configuration by its reload URL, the other by a restart; bad configurations are
 * rolled back and the agents come back on the previous files. Logs are followed through the manager
 * meanwhile.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ConfigPushIT {
  private Stack stack;
  private int hotPort;

  @BeforeAll
  void start() throws Exception {
    hotPort = Stack.freePort();
    stack =
        new Stack(
            List.of("hot", "cold"),
            Map.of("hot", "http_port: " + hotPort + "\n"),
            Map.of(
                "hot",
                "config-reload: http\nconfig-reload-url: http://127.0.0.1:"
                    + hotPort
                    + "/reload\n"
                    + "config-verify: 1s\n",
                "cold",
                "config-verify: 1s\n"),
            // An agent that runs a script: it has a config-dir but does not take pushes.
            """
              - id: closed
                command: /bin/sh
                args: [-c, "exec sleep 600"]
                config-dir: ${dir}/closed.d
            """,
            Stack.env(Map.of()));
    stack.startManager().startDaemon();
    for (String id : List.of("hot", "cold")) {
      Await.until(
          Duration.ofSeconds(30),
          id + " to be ON",
          () -> stack.agent(id),
          a -> a.getAvailability() == 0);
    }
  }

  @AfterAll
  void stop() {
    stack.close();
  }

  @Test
  void anAgentWithoutRemoteConfigTakesNoPush() throws Exception {
    BatchItemResult r = pushFile("closed", "run.sh", "#!/bin/sh\nid > /tmp/owned\n");
    assertFalse(r.getOk(), r.toString());
    assertTrue(r.getMessage().contains("remote-config: true"), r.getMessage());
    assertFalse(
        java.nio.file.Files.exists(stack.dir.resolve("closed.d").resolve("run.sh")),
        "nothing was written");
  }

  private BatchItemResult pushFile(String agentId, String fileName, String content)
      throws Exception {
    String body =
        "{\"pushes\": [{\"nodeId\": \""
            + Stack.NODE
            + "\", \"agentId\": \""
            + agentId
            + "\", \"files\": [{\"fileName\": \""
            + fileName
            + "\", \"content\": "
            + quote(content)
            + "}]}]}";
    HttpResponse<String> res = stack.post("/api/v1/agents/batch/configs", body);
    assertEquals(200, res.statusCode(), res.body());
    BatchOperateResponse.Builder b = BatchOperateResponse.newBuilder();
    JsonFormat.parser().merge(res.body(), b);
    BatchItemResult item = b.build().getResults(0);
    System.out.printf(
        "push to %s: %s %s in %d ms: %s%n",
        agentId,
        item.getOutcome(),
        item.getConfigHash(),
        com.google.protobuf.util.Durations.toMillis(item.getDuration()),
        item.getMessage());
    return item;
  }

  private static String quote(String s) {
    return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n") + "\"";
  }

  @Test
  void aReloadableAgentTakesGoodConfigsByItsReloadUrlAndRefusedOnesAreRolledBack()
      throws Exception {
    BlockingQueue<String> followed = new LinkedBlockingQueue<>();
    HttpResponse<Stream<String>> follow =
        stack.http.send(
            stack
                .authorized(
                    HttpRequest.newBuilder(
                        URI.create(
                            "https://127.0.0.1:"
                                + stack.managerPort
                                + "/api/v1/nodes/"
                                + Stack.NODE
                                + "/agents/hot/logs/follow?lines=1")))
                .build(),
            HttpResponse.BodyHandlers.ofLines());
    assertEquals(200, follow.statusCode());
    Iterator<String> lines = follow.body().iterator();
    assertEquals("{\"following\":true}", lines.next().replace(" ", ""));
    Thread reader =
        Thread.ofVirtual()
            .start(
                () -> {
                  while (lines.hasNext()) {
                    followed.add(lines.next());
                  }
                });

    long pid = stack.agent("hot").getPid();
    String original = Files.readString(stack.configFile("hot"));
    String good = original + "failure_threshold: 5\n";
    BatchItemResult applied = pushFile("hot", "agent.yaml", good);
    assertTrue(applied.getOk(), applied.toString());
    assertEquals("APPLIED", applied.getOutcome());
    assertTrue(applied.getConfigHash().startsWith("sha256:"), applied.getConfigHash());
    assertEquals(good, Files.readString(stack.configFile("hot")));
    assertEquals(pid, stack.agent("hot").getPid(), "a reload keeps the process");
    Await.until(
        Duration.ofSeconds(10),
        "the reload to show in the followed output",
        () -> String.join("\n", followed),
        text -> text.contains("configuration reloaded"));

    BatchItemResult refused =
        pushFile("hot", "agent.yaml", good + "faults:\n  reject_reload: true\n");
    assertFalse(refused.getOk());
    assertEquals("FAILED", refused.getOutcome());
    assertEquals("ABORTED", refused.getCode());
    assertTrue(refused.getMessage().contains("answered 400"), refused.getMessage());
    assertTrue(
        refused.getMessage().endsWith("rolled back to " + applied.getConfigHash()),
        refused.getMessage());
    assertEquals(applied.getConfigHash(), refused.getConfigHash());
    assertEquals(good, Files.readString(stack.configFile("hot")), "the previous file is back");
    Agent after = stack.agent("hot");
    assertEquals(pid, after.getPid());
    assertEquals(0, after.getAvailability());

    BatchItemResult same = pushFile("hot", "agent.yaml", good);
    assertEquals("UNCHANGED", same.getOutcome());
    assertTrue(same.getOk());
    follow.body().close();
    reader.interrupt();
  }

  @Test
  void aRestartedAgentThatCannotStartOnTheNewConfigComesBackOnThePreviousOne() throws Exception {
    String original = Files.readString(stack.configFile("cold"));
    long pid = stack.agent("cold").getPid();
    BatchItemResult broken =
        pushFile("cold", "agent.yaml", original + "heartbeat_interval: banana\n");
    assertEquals("FAILED", broken.getOutcome());
    assertTrue(broken.getMessage().contains("did not start on it"), broken.getMessage());
    assertTrue(broken.getMessage().contains("rolled back to sha256:"), broken.getMessage());
    assertEquals(original, Files.readString(stack.configFile("cold")));
    Agent back =
        Await.until(
            Duration.ofSeconds(20),
            "cold to run again on its old config",
            () -> stack.agent("cold"),
            a -> a.getAvailability() == 0);
    assertNotEquals(pid, back.getPid());

    BatchItemResult applied = pushFile("cold", "agent.yaml", original + "failure_threshold: 4\n");
    assertEquals("APPLIED", applied.getOutcome(), applied.getMessage());
    assertTrue(applied.getMessage().contains("agent restarted"), applied.getMessage());
    assertNotEquals(back.getPid(), stack.agent("cold").getPid());
  }

  @Test
  void aFileNameThatEscapesTheConfigDirectoryIsRefusedAndNothingIsWritten() throws Exception {
    HttpResponse<String> res =
        stack.post(
            "/api/v1/agents/batch/configs",
            "{\"pushes\": [{\"nodeId\": \""
                + Stack.NODE
                + "\", \"agentId\": \"hot\", \"files\": [{\"fileName\": \"../escape.yaml\", \"content\": \"x\"}]}]}");
    assertEquals(400, res.statusCode());
    assertTrue(res.body().contains("pushes[0].files[0].fileName"), res.body());
    assertFalse(Files.exists(stack.dir.resolve("escape.yaml")));
  }
}
