package io.opsscaffold.manager.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.grpc.ManagedChannel;
import io.opsscaffold.api.compat.controller.v1.ControllerServiceGrpc;
import io.opsscaffold.api.compat.controller.v1.GetStatusRequest;
import io.opsscaffold.api.link.v1.AgentState;
import io.opsscaffold.api.link.v1.CommandResult;
import io.opsscaffold.api.link.v1.DaemonMessage;
import io.opsscaffold.api.link.v1.Hello;
import io.opsscaffold.api.link.v1.ManagerMessage;
import io.opsscaffold.api.link.v1.NodeLabels;
import io.opsscaffold.api.status.v1.HostStats;
import io.opsscaffold.api.status.v1.Lifecycle;
import io.opsscaffold.api.status.v1.ProcessSample;
import io.opsscaffold.manager.link.FakeDaemon;
import io.opsscaffold.testing.Await;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The /compat/controller surface as a platform's controller client uses it: hosts ("agents") and
 * packages, paging with page/pageSize, health, metrics, status and batches, over real HTTP on a
 * manager on PostgreSQL with scripted daemons (two online, one offline).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ControllerCompatIT {
  private static final String BASE = "/compat/controller/api/v1";
  private TestManager manager;
  private ManagedChannel channel;
  private final HttpClient http = HttpClient.newHttpClient();
  private final List<String> operated = new java.util.concurrent.CopyOnWriteArrayList<>();

  @BeforeAll
  void start() throws Exception {
    manager = TestManager.start();
    channel = manager.channel;
    FakeDaemon h1 =
        daemon(
            "h1",
            "10.1.0.1",
            "east",
            "0.1.0",
            agent("web", Lifecycle.LIFECYCLE_RUNNING),
            agent("beat", Lifecycle.LIFECYCLE_RUNNING));
    h1.send(
        DaemonMessage.newBuilder()
            .setHostStats(
                HostStats.newBuilder()
                    .setCpuPercent(12.5)
                    .setCores(2)
                    .setMemoryTotalBytes(1000)
                    .setMemoryAvailableBytes(250)
                    .setDiskTotalBytes(500)
                    .setDiskFreeBytes(100)
                    .setLoad1(0.5)));
    FakeDaemon h2 =
        daemon(
            "h2",
            "10.1.0.2",
            "east",
            "0.2.0",
            agent("web", Lifecycle.LIFECYCLE_RUNNING),
            agent("beat", Lifecycle.LIFECYCLE_CRASH_LOOP));
    FakeDaemon h3 =
        daemon("h3", "10.1.0.3", "west", "0.1.0", agent("web", Lifecycle.LIFECYCLE_RUNNING));
    for (FakeDaemon d : List.of(h1, h2)) {
      d.answerCommands(
          c -> {
            CommandResult.Builder r =
                CommandResult.newBuilder().setCommandId(c.getCommandId()).setSuccess(true);
            if (c.hasReadMetrics()) {
              return r.addSamples(
                      ProcessSample.newBuilder().setCpuPercent(1.5).setRssBytes(4096).setThreads(7))
                  .build();
            }
            operated.add(
                d.nodeId
                    + "/"
                    + (c.hasOperate()
                        ? c.getOperate().getAgentId() + ":" + c.getOperate().getOperation()
                        : c.getPushConfig().getAgentId()
                            + ":config "
                            + c.getPushConfig().getFiles(0).getName()));
            return c.hasPushConfig()
                ? r.setConfigOutcome("APPLIED")
                    .setConfigHash("sha256:000000000000")
                    .setMessage("applied")
                    .build()
                : r.setMessage("done").build();
          });
    }
    h3.out.onCompleted();
    Await.until(
        Duration.ofSeconds(10),
        "h3 to go offline",
        () -> get(BASE + "/agents/h3").body(),
        b -> b.contains("\"offline\""));
    Await.until(
        Duration.ofSeconds(10),
        "h1's stats",
        () -> get(BASE + "/agents/h1/metrics/system").statusCode(),
        c -> c == 200);
  }

  @AfterAll
  void stop() throws Exception {
    manager.close();
  }

  private FakeDaemon daemon(String id, String ip, String area, String version, AgentState... agents)
      throws InterruptedException {
    FakeDaemon d =
        new FakeDaemon(
                channel,
                Hello.newBuilder()
                    .setNodeId(id)
                    .setHostname("host-" + id)
                    .setIp(ip)
                    .setDaemonVersion(version)
                    .setLabels(NodeLabels.newBuilder().setArea(area).setZone(area + "-1")))
            .hello()
            .keepAlive();
    d.fullState(agents);
    d.next(ManagerMessage.BodyCase.ACK);
    return d;
  }

  private static AgentState agent(String id, Lifecycle lifecycle) {
    return AgentState.newBuilder()
        .setAgentId(id)
        .setType("svc")
        .setLifecycle(lifecycle)
        .setPid(lifecycle == Lifecycle.LIFECYCLE_RUNNING ? 9 : 0)
        .setMessage(lifecycle.name())
        .build();
  }

  private HttpResponse<String> get(String path) {
    return send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + manager.port() + path)).build());
  }

  private HttpResponse<String> post(String path, String json) {
    return send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + manager.port() + path))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(json))
            .build());
  }

  private HttpResponse<String> send(HttpRequest r) {
    try {
      return http.send(r, HttpResponse.BodyHandlers.ofString());
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private JsonObject json(String path) {
    HttpResponse<String> res = get(path);
    assertEquals(200, res.statusCode(), path + ": " + res.body());
    return JsonParser.parseString(res.body()).getAsJsonObject();
  }

  private static List<String> ids(JsonObject page) {
    List<String> ids = new ArrayList<>();
    page.getAsJsonArray("agents")
        .forEach(a -> ids.add(a.getAsJsonObject().get("id").getAsString()));
    return ids;
  }

  @Test
  void hostsArePagedWithPageAndPageSizeAndFilteredByEveryField() {
    JsonObject all = json(BASE + "/agents");
    assertEquals(3, all.get("total").getAsInt());
    assertEquals(List.of("h1", "h2", "h3"), ids(all));
    JsonObject h1 = all.getAsJsonArray("agents").get(0).getAsJsonObject();
    assertEquals("10.1.0.1", h1.get("address").getAsString());
    assertEquals("online", h1.get("status").getAsString());
    assertEquals("healthy", h1.get("health_status").getAsString());
    assertTrue(h1.has("last_heartbeat"));
    // The code a platform finds a host by: GSE's "<cloud id>:<ip>".
    assertEquals(h1.get("cloud_id").getAsLong() + ":10.1.0.1", h1.get("agent_code").getAsString());

    JsonObject page2 = json(BASE + "/agents?page=2&pageSize=2");
    assertEquals(List.of("h3"), ids(page2));
    assertEquals(3, page2.get("total").getAsInt());
    assertEquals(2, page2.get("page_size").getAsInt());
    assertEquals(
        List.of(), ids(json(BASE + "/agents?page=5&pageSize=2")), "a page past the end is empty");

    assertEquals(List.of("h2"), ids(json(BASE + "/agents?id=h2")));
    assertEquals(List.of("h3"), ids(json(BASE + "/agents?status=offline")));
    assertEquals(List.of("h1", "h2"), ids(json(BASE + "/agents?status=ONLINE")));
    assertEquals(List.of("h2"), ids(json(BASE + "/agents?address=10.1.0.2")));
    assertEquals(List.of("h1"), ids(json(BASE + "/agents?hostname=host-h1")));
    assertEquals(List.of("h3"), ids(json(BASE + "/agents?area=west")));
    assertEquals(List.of("h1", "h2"), ids(json(BASE + "/agents?zone=east-1")));
    assertEquals(List.of("h2"), ids(json(BASE + "/agents?version=0.2.0")));

    HttpResponse<String> snake = get(BASE + "/agents?page_size=2");
    assertEquals(400, snake.statusCode());
    assertTrue(snake.body().contains("pageSize"), snake.body());
    HttpResponse<String> tooBig = get(BASE + "/agents?pageSize=1001");
    assertEquals(400, tooBig.statusCode());
    assertTrue(tooBig.body().contains("pageSize must be between 1 and 1000"), tooBig.body());
    assertEquals(
        3,
        json(BASE + "/agents?pageSize=0").getAsJsonArray("agents").size(),
        "0 means the default");
    HttpResponse<String> badStatus = get(BASE + "/agents?status=sleeping");
    assertEquals(400, badStatus.statusCode());
    assertTrue(badStatus.body().contains("status must be online or offline"), badStatus.body());
  }

  @Test
  void aHostShowsItsPackagesHealthAndMetrics() {
    JsonObject h2 = json(BASE + "/agents/h2");
    assertEquals("unhealthy", h2.get("health_status").getAsString());
    assertEquals(2, h2.getAsJsonArray("services").size());
    JsonObject beat = h2.getAsJsonArray("services").get(0).getAsJsonObject();
    assertEquals("beat", beat.get("name").getAsString());
    assertEquals("crash_loop", beat.get("status").getAsString());
    assertEquals(1, beat.get("availability").getAsInt());

    JsonObject packages = json(BASE + "/agents/h1/packages");
    assertEquals(2, packages.get("total").getAsInt());
    assertEquals("h1", packages.get("agent_id").getAsString());

    JsonObject health = json(BASE + "/agents/h2/health");
    assertEquals("unhealthy", health.get("overall_status").getAsString());
    JsonArray perPackage = health.getAsJsonArray("packages");
    assertEquals("unhealthy", perPackage.get(0).getAsJsonObject().get("status").getAsString());
    assertEquals("healthy", perPackage.get(1).getAsJsonObject().get("status").getAsString());
    assertEquals("unknown", json(BASE + "/agents/h3/health").get("overall_status").getAsString());
    assertEquals("healthy", json(BASE + "/agents/h1/health").get("overall_status").getAsString());

    JsonObject web = json(BASE + "/agents/h1/health/web");
    assertEquals("healthy", web.get("status").getAsString());
    assertEquals("ON", web.get("availability_name").getAsString());
    assertEquals(404, get(BASE + "/agents/h1/health/nope").statusCode());
    assertEquals(404, get(BASE + "/agents/h9").statusCode());
    assertEquals(404, get(BASE + "/agents/h9/packages").statusCode());

    JsonObject system = json(BASE + "/agents/h1/metrics/system");
    assertEquals(12.5, system.get("cpu_percent").getAsDouble());
    assertEquals(750, system.get("memory_used_bytes").getAsLong());
    assertEquals(75.0, system.get("memory_percent").getAsDouble());
    assertEquals(400, system.get("disk_used_bytes").getAsLong());
    assertEquals(503, get(BASE + "/agents/h2/metrics/system").statusCode(), "h2 never reported");

    JsonObject services = json(BASE + "/agents/h1/metrics/services");
    JsonObject first = services.getAsJsonArray("services").get(0).getAsJsonObject();
    assertEquals("beat", first.get("package").getAsString());
    assertEquals(4096, first.get("memory_rss_bytes").getAsLong());
    assertEquals(
        503, get(BASE + "/agents/h3/metrics/services").statusCode(), "h3's daemon is gone");
  }

  @Test
  void theStatusCountsHostsAndPackagesOverHttpAndGrpc() {
    JsonObject status = json(BASE + "/status");
    assertEquals("ok", status.get("status").getAsString());
    assertEquals(3, status.get("agents_total").getAsInt());
    assertEquals(2, status.get("agents_online").getAsInt());
    assertEquals(5, status.get("packages_total").getAsInt());
    assertEquals(3, status.get("packages_healthy").getAsInt());
    var grpc =
        ControllerServiceGrpc.newBlockingStub(channel)
            .getStatus(GetStatusRequest.getDefaultInstance());
    assertEquals(3, grpc.getAgentsTotal());
  }

  @Test
  void batchesActOnEveryListedPackageOfEveryListedHost() {
    operated.clear();
    HttpResponse<String> res =
        post(
            BASE + "/agents/batch/restart",
            "{\"agents\": [\"h1\", \"h2\", \"h3\"], \"packages\": [\"web\", \"beat\"]}");
    assertEquals(200, res.statusCode(), res.body());
    JsonObject r = JsonParser.parseString(res.body()).getAsJsonObject();
    assertEquals(6, r.get("total").getAsInt());
    assertEquals(4, r.get("success").getAsInt());
    assertEquals(2, r.get("failed").getAsInt());
    JsonObject h3web = r.getAsJsonArray("results").get(4).getAsJsonObject();
    assertEquals("h3", h3web.get("agent_id").getAsString());
    assertEquals("web", h3web.get("package").getAsString());
    assertEquals("UNAVAILABLE", h3web.get("code").getAsString());
    assertEquals(
        "NOT_FOUND",
        r.getAsJsonArray("results").get(5).getAsJsonObject().get("code").getAsString(),
        "h3 has no beat");
    assertEquals(4, operated.size(), operated.toString());
    assertTrue(operated.contains("h2/beat:AGENT_OPERATION_RESTART"), operated.toString());

    HttpResponse<String> noPackages = post(BASE + "/agents/batch/stop", "{\"agents\": [\"h1\"]}");
    assertEquals(400, noPackages.statusCode());
    assertTrue(noPackages.body().contains("packages is required"), noPackages.body());
    HttpResponse<String> badOp =
        post(BASE + "/agents/batch/reboot", "{\"agents\": [\"h1\"], \"packages\": [\"web\"]}");
    assertEquals(400, badOp.statusCode());
    assertTrue(badOp.body().contains("valid operations: start, stop, restart"), badOp.body());
  }

  @Test
  void configBatchesUseThePlatformsFieldNames() {
    operated.clear();
    HttpResponse<String> res =
        post(
            BASE + "/agents/batch/configs",
            "{\"agents\": [\"h1\", \"h2\"], \"package\": \"web\","
                + " \"configs\": [{\"file_name\": \"web.conf\", \"content\": \"port = 80\\n\"}]}");
    assertEquals(200, res.statusCode(), res.body());
    JsonObject r = JsonParser.parseString(res.body()).getAsJsonObject();
    assertEquals(2, r.get("success").getAsInt());
    assertEquals(
        "APPLIED",
        r.getAsJsonArray("results").get(0).getAsJsonObject().get("outcome").getAsString());
    assertEquals(
        List.of("h1/web:config web.conf", "h2/web:config web.conf"),
        operated.stream().sorted().toList());

    HttpResponse<String> escape =
        post(
            BASE + "/agents/batch/configs",
            "{\"agents\": [\"h1\"], \"package\": \"web\","
                + " \"configs\": [{\"file_name\": \"../../etc/cron.d/x\", \"content\": \"x\"}]}");
    assertEquals(400, escape.statusCode());
    assertTrue(
        escape
            .body()
            .contains("configs[0].file_name '../../etc/cron.d/x' must be a plain file name"),
        escape.body());
    HttpResponse<String> noPackage =
        post(
            BASE + "/agents/batch/configs",
            "{\"agents\": [\"h1\"], \"configs\": [{\"file_name\": \"a\", \"content\": \"x\"}]}");
    assertEquals(400, noPackage.statusCode());
    assertTrue(noPackage.body().contains("package is required"), noPackage.body());
    assertFalse(operated.size() > 2, "refused batches reach no daemon");
  }
}
