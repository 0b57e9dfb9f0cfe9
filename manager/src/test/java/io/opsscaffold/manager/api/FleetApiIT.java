package io.opsscaffold.manager.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.opsscaffold.api.fleet.v1.Agent;
import io.opsscaffold.api.fleet.v1.AvailabilitySummary;
import io.opsscaffold.api.fleet.v1.ListFleetAgentsResponse;
import io.opsscaffold.api.fleet.v1.ListNodesResponse;
import io.opsscaffold.api.gse.v1.GseAgentStatusResponse;
import io.opsscaffold.api.gse.v1.GseHost;
import io.opsscaffold.api.gse.v1.GseHostsRequest;
import io.opsscaffold.api.gse.v1.GseServiceGrpc;
import io.opsscaffold.api.link.v1.AgentState;
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
import io.opsscaffold.testing.Await;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The fleet-wide read API and the GSE-compatible endpoints, over real HTTP and gRPC, on a manager
 * backed by PostgreSQL, with three scripted daemons: two online, one gone offline.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FleetApiIT {
  private TestDatabases.Created pg;
  private Telemetry telemetry;
  private ManagerApp manager;
  private ManagedChannel channel;
  private final HttpClient http = HttpClient.newHttpClient();
  private FakeDaemon n1;
  private FakeDaemon n2;

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
                Duration.ofMillis(300),
                Duration.ofSeconds(5),
                Optional.empty()),
            telemetry);
    channel = NettyChannelBuilder.forAddress("127.0.0.1", manager.port()).usePlaintext().build();
    n1 =
        daemon(
            "n1",
            "10.0.0.1",
            "east",
            "payments",
            "r1",
            agent("a", "filebeat", Lifecycle.LIFECYCLE_RUNNING, 11),
            agent("b", "exporter", Lifecycle.LIFECYCLE_STOPPED, 0));
    n2 =
        daemon(
            "n2",
            "10.0.0.2",
            "west",
            "payments",
            "r2",
            agent("a", "filebeat", Lifecycle.LIFECYCLE_RUNNING, 21),
            agent("c", "collector", Lifecycle.LIFECYCLE_FAILED, 0));
    FakeDaemon n3 =
        daemon(
            "n3",
            "10.0.0.3",
            "west",
            "search",
            "r3",
            agent("x", "filebeat", Lifecycle.LIFECYCLE_RUNNING, 31));
    n3.out.onCompleted(); // n3's daemon goes away; after the 300 ms grace it is OFFLINE
    Await.until(
        Duration.ofSeconds(10),
        "n3 to go offline",
        () -> get("/api/v1/nodes/n3").body(),
        b -> b.contains("CONNECTIVITY_OFFLINE"));
  }

  private FakeDaemon daemon(
      String id, String ip, String area, String business, String rack, AgentState... agents)
      throws InterruptedException {
    FakeDaemon d =
        new FakeDaemon(
                channel,
                Hello.newBuilder()
                    .setNodeId(id)
                    .setHostname("host-" + id)
                    .setIp(ip)
                    .setDaemonVersion(id.equals("n2") ? "0.2.0" : "0.1.0")
                    .setLabels(
                        NodeLabels.newBuilder()
                            .setArea(area)
                            .setBusiness(business)
                            .putExtra("rack", rack)))
            .hello()
            .keepAlive();
    d.fullState(agents);
    d.next(ManagerMessage.BodyCase.ACK);
    return d;
  }

  private static AgentState agent(String id, String type, Lifecycle lifecycle, int pid) {
    return AgentState.newBuilder()
        .setAgentId(id)
        .setType(type)
        .setLifecycle(lifecycle)
        .setPid(pid)
        .build();
  }

  @AfterAll
  void stop() throws Exception {
    n1.out.onCompleted();
    n2.out.onCompleted();
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    manager.close();
    telemetry.close();
    pg.close();
  }

  private HttpResponse<String> get(String path) {
    return send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + manager.port() + path)).build());
  }

  private HttpResponse<String> post(String path, String json) {
    return send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + manager.port() + path))
            .POST(HttpRequest.BodyPublishers.ofString(json))
            .header("Content-Type", "application/json")
            .build());
  }

  private HttpResponse<String> send(HttpRequest r) {
    try {
      return http.send(r, HttpResponse.BodyHandlers.ofString());
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  @SuppressWarnings("unchecked")
  private static <T extends Message> T parse(HttpResponse<String> res, Message.Builder b) {
    assertEquals(200, res.statusCode(), res.body());
    try {
      JsonFormat.parser().merge(res.body(), b);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
    return (T) b.build();
  }

  private Set<String> ids(String query) {
    ListFleetAgentsResponse r =
        parse(get("/api/v1/agents" + query), ListFleetAgentsResponse.newBuilder());
    return r.getAgentsList().stream()
        .map(a -> a.getNodeId() + "/" + a.getAgentId())
        .collect(Collectors.toSet());
  }

  @Test
  void fleetListingPagesWithTotals() {
    ListFleetAgentsResponse all =
        parse(get("/api/v1/agents"), ListFleetAgentsResponse.newBuilder());
    assertEquals(5, all.getTotal());
    assertEquals(
        List.of("n1/a", "n1/b", "n2/a", "n2/c", "n3/x"),
        all.getAgentsList().stream().map(a -> a.getNodeId() + "/" + a.getAgentId()).toList());
    ListFleetAgentsResponse page2 =
        parse(get("/api/v1/agents?page=2&pageSize=2"), ListFleetAgentsResponse.newBuilder());
    assertEquals(
        List.of("n2/a", "n2/c"),
        page2.getAgentsList().stream().map(a -> a.getNodeId() + "/" + a.getAgentId()).toList());
    assertEquals(5, page2.getTotal());
    ListFleetAgentsResponse past =
        parse(get("/api/v1/agents?page=9&pageSize=2"), ListFleetAgentsResponse.newBuilder());
    assertEquals(0, past.getAgentsCount());
    assertEquals(5, past.getTotal(), "a page past the end is empty, the total still counts");
    ListFleetAgentsResponse dflt =
        parse(get("/api/v1/agents?pageSize=0"), ListFleetAgentsResponse.newBuilder());
    assertEquals(50, dflt.getPageSize());

    HttpResponse<String> tooBig = get("/api/v1/agents?pageSize=1001");
    assertEquals(400, tooBig.statusCode());
    assertTrue(tooBig.body().contains("pageSize must be between 1 and 1000"), tooBig.body());
    HttpResponse<String> snake = get("/api/v1/agents?page_size=10");
    assertEquals(400, snake.statusCode());
    assertTrue(snake.body().contains("use 'pageSize'"), snake.body());
    assertEquals(400, get("/api/v1/agents?page=-1").statusCode());
  }

  @Test
  void nodeListingsCountEachNodesAgents() {
    ListNodesResponse nodes = parse(get("/api/v1/nodes"), ListNodesResponse.newBuilder());
    assertEquals(
        List.of("n1=2", "n2=2", "n3=1"),
        nodes.getNodesList().stream().map(n -> n.getNodeId() + "=" + n.getAgentCount()).toList());
    ListNodesResponse west =
        parse(get("/api/v1/nodes?area=west&page=2&pageSize=1"), ListNodesResponse.newBuilder());
    assertEquals(
        List.of("n3=1"),
        west.getNodesList().stream().map(n -> n.getNodeId() + "=" + n.getAgentCount()).toList());
    assertEquals(2, west.getTotal());
  }

  @Test
  void everyFilterSelects() {
    assertEquals(Set.of("n1/a", "n1/b"), ids("?area=east"));
    assertEquals(Set.of("n1/a", "n2/a"), ids("?status=ON"));
    assertEquals(Set.of("n1/b", "n2/c"), ids("?status=1"));
    assertEquals(Set.of("n3/x"), ids("?status=UNKNOWN"), "an offline node's agents read -1");
    assertEquals(Set.of("n2/a", "n2/c"), ids("?address=10.0.0.2"));
    assertEquals(Set.of("n2/a", "n2/c"), ids("?nodeId=n2"));
    assertEquals(Set.of("n2/a", "n2/c"), ids("?version=0.2.0"));
    assertEquals(Set.of("n1/a", "n2/a", "n3/x"), ids("?type=filebeat"));
    assertEquals(Set.of("n1/a", "n1/b"), ids("?hostname=host-n1"));
    assertEquals(Set.of("n2/a", "n2/c"), ids("?label=rack%3Dr2"));
    assertEquals(Set.of(), ids("?area=east&status=UNKNOWN"));
    HttpResponse<String> badStatus = get("/api/v1/agents?status=GREEN");
    assertEquals(400, badStatus.statusCode());
    assertTrue(
        badStatus.body().contains("status must be one of ON, OFF, NOT_EXIST, NO_DATA, UNKNOWN"),
        badStatus.body());
    assertEquals(400, get("/api/v1/agents?label=rack").statusCode());
  }

  @Test
  void anAgentIdAloneResolvesWhenUniqueAndConflictsOtherwise() {
    Agent c = parse(get("/api/v1/agents/c"), Agent.newBuilder());
    assertEquals("n2", c.getNodeId());
    HttpResponse<String> ambiguous = get("/api/v1/agents/a");
    assertEquals(409, ambiguous.statusCode());
    assertTrue(ambiguous.body().contains("is on several nodes (n1, n2)"), ambiguous.body());
    assertEquals(404, get("/api/v1/agents/zz").statusCode());
  }

  @Test
  void availabilityIsSummedPerAreaBusinessAndForHostLists() {
    AvailabilitySummary all =
        parse(get("/api/v1/availability/summary"), AvailabilitySummary.newBuilder());
    assertEquals(5, all.getOverall().getTotal());
    assertEquals(2, all.getOverall().getOn());
    assertEquals(2, all.getOverall().getOff());
    assertEquals(1, all.getOverall().getUnknown());
    var west =
        all.getByAreaList().stream()
            .filter(c -> c.getKey().equals("west"))
            .findFirst()
            .orElseThrow();
    assertEquals(3, west.getTotal());
    assertEquals(1, west.getUnknown());
    var payments =
        all.getByBusinessList().stream()
            .filter(c -> c.getKey().equals("payments"))
            .findFirst()
            .orElseThrow();
    assertEquals(4, payments.getTotal());

    AvailabilitySummary hosts =
        parse(
            post(
                "/api/v1/availability/summary",
                "{\"hosts\": [{\"ip\": \"10.0.0.1\"}, {\"ip\": \"10.9.9.9\", \"cloudId\": 0}]}"),
            AvailabilitySummary.newBuilder());
    assertEquals(3, hosts.getOverall().getTotal());
    assertEquals(1, hosts.getOverall().getNotExist(), "the unknown host counts as NOT_EXIST");
    assertEquals(1, hosts.getOverall().getOn());
  }

  @Test
  void gseStatusAnswersExactlyForKnownUnknownAndOfflineHosts() {
    HttpResponse<String> res =
        post(
            "/api/c/compapi/v2/gse/get_agent_status/",
            "{\"hosts\": [{\"ip\": \"10.0.0.1\", \"bk_cloud_id\": 0}, {\"ip\": \"10.9.9.9\", \"bk_cloud_id\": 0},"
                + " {\"ip\": \"10.0.0.3\", \"bk_cloud_id\": 0}]}");
    assertEquals(200, res.statusCode(), res.body());
    String body = res.body();
    assertTrue(body.startsWith("{\"result\":true,\"code\":0,\"message\":\"\",\"data\":{"), body);
    assertTrue(
        body.contains(
            "\"0:10.0.0.1\":{\"ip\":\"10.0.0.1\",\"bk_cloud_id\":0,\"bk_agent_alive\":1}"),
        body);
    assertTrue(
        body.contains(
            "\"0:10.9.9.9\":{\"ip\":\"10.9.9.9\",\"bk_cloud_id\":0,\"bk_agent_alive\":0}"),
        body);
    assertTrue(
        body.contains(
            "\"0:10.0.0.3\":{\"ip\":\"10.0.0.3\",\"bk_cloud_id\":0,\"bk_agent_alive\":0}"),
        body);

    GseAgentStatusResponse grpc =
        GseServiceGrpc.newBlockingStub(channel)
            .getAgentStatus(
                GseHostsRequest.newBuilder()
                    .addHosts(GseHost.newBuilder().setIp("10.0.0.2"))
                    .addHosts(GseHost.newBuilder().setIp("10.0.0.2").setBkCloudId(7))
                    .build());
    assertEquals(
        1, grpc.getDataOrThrow("0:10.0.0.2").getBkAgentAlive(), "connected: 1, as GSE answers");
    assertEquals(
        0,
        grpc.getDataOrThrow("7:10.0.0.2").getBkAgentAlive(),
        "the same address in another cloud is another host");

    HttpResponse<String> info =
        post("/api/c/compapi/v2/gse/get_agent_info/", "{\"hosts\": [{\"ip\": \"10.0.0.2\"}]}");
    assertTrue(info.body().contains("\"version\":\"0.2.0\""), info.body());
    assertTrue(
        info.body().contains("{\"name\":\"c\",\"status\":\"FAILED\",\"availability\":1}"),
        info.body());
    assertTrue(info.body().contains("\"last_heartbeat\":\""), info.body());

    HttpResponse<String> noIp =
        post("/api/c/compapi/v2/gse/get_agent_status/", "{\"hosts\": [{\"bk_cloud_id\": 0}]}");
    assertEquals(400, noIp.statusCode());
    assertTrue(noIp.body().contains("hosts[0].ip is required"), noIp.body());
  }
}
