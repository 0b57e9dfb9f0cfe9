package io.opsscaffold.platform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.opsscaffold.api.link.v1.AgentState;
import io.opsscaffold.api.link.v1.CommandResult;
import io.opsscaffold.api.link.v1.Hello;
import io.opsscaffold.api.link.v1.NodeLabels;
import io.opsscaffold.api.platform.v1.Agent;
import io.opsscaffold.api.platform.v1.AreaAvailability;
import io.opsscaffold.api.platform.v1.BatchOperateRequest;
import io.opsscaffold.api.platform.v1.BatchProgress;
import io.opsscaffold.api.platform.v1.BatchResponse;
import io.opsscaffold.api.platform.v1.GetAgentRequest;
import io.opsscaffold.api.platform.v1.GetAvailabilityRequest;
import io.opsscaffold.api.platform.v1.ItemResult;
import io.opsscaffold.api.platform.v1.ListAgentsRequest;
import io.opsscaffold.api.platform.v1.ListAgentsResponse;
import io.opsscaffold.api.platform.v1.ListControllersRequest;
import io.opsscaffold.api.platform.v1.PlatformServiceGrpc;
import io.opsscaffold.api.platform.v1.Target;
import io.opsscaffold.api.status.v1.Lifecycle;
import io.opsscaffold.manager.ManagerApp;
import io.opsscaffold.manager.ManagerSettings;
import io.opsscaffold.manager.cluster.ClusterSettings;
import io.opsscaffold.manager.link.FakeDaemon;
import io.opsscaffold.manager.persistence.TestDatabases;
import io.opsscaffold.observability.Telemetry;
import io.opsscaffold.observability.TelemetryPolicy;
import io.opsscaffold.testing.Await;
import io.opsscaffold.testing.EtcdServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The platform view on a real etcd, with two areas, each its own PostgreSQL database, manager and
 * daemons (the link protocol spoken by fake daemons over real gRPC streams).
 */
class PlatformIT {
  private EtcdServer etcd;
  private Telemetry telemetry;
  private final List<AutoCloseable> closing = new ArrayList<>();
  private final Map<ManagerApp, AutoCloseable> databases = new HashMap<>();

  @BeforeEach
  void start() {
    etcd = EtcdServer.start();
    telemetry = Telemetry.start(new TelemetryPolicy("test", Optional.empty(), Optional.of("none")));
  }

  @AfterEach
  void stop() throws Exception {
    for (AutoCloseable c : closing.reversed()) {
      try {
        c.close();
      } catch (Exception e) {
        // already closed by the test
      }
    }
    etcd.close();
    telemetry.close();
  }

  /** A manager of {@code area} on a database of its own. */
  private ManagerApp manager(String area, String id) throws Exception {
    return manager(area, id, 0, Optional.empty());
  }

  /**
   * A manager of {@code area} on {@code port}, registered as reachable at {@code advertised} (a
   * proxy in front of it) when given.
   */
  private ManagerApp manager(String area, String id, int port, Optional<URI> advertised)
      throws Exception {
    TestDatabases.Created pg = TestDatabases.postgres();
    closing.add(pg);
    ClusterSettings cluster =
        ClusterSettings.none()
            .with(List.of(URI.create(etcd.endpoint())), area, id)
            .plaintextOnLoopback()
            .withTimings(Duration.ofSeconds(2), Duration.ofSeconds(1));
    Path data = Files.createTempDirectory("m");
    ManagerApp app =
        ManagerApp.start(
            new ManagerSettings(
                    "127.0.0.1",
                    port,
                    pg.settings(data),
                    Duration.ofSeconds(5),
                    Duration.ofMillis(300),
                    Duration.ofSeconds(5),
                    Optional.empty(),
                    Duration.ofSeconds(1),
                    Optional.empty(),
                    io.opsscaffold.manager.tls.TlsPolicy.insecure(data),
                    ManagerSettings.Limits.DEFAULT)
                .withCluster(advertised.map(cluster::withAdvertiseUrl).orElse(cluster)),
            telemetry);
    closing.add(app);
    return app;
  }

  private static int freePort() throws java.io.IOException {
    try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private PlatformApp platform(Duration agentsTtl) throws Exception {
    return platform(agentsTtl, Duration.ofSeconds(30));
  }

  private PlatformApp platform(Duration agentsTtl, Duration controllersTtl) throws Exception {
    PlatformSettings s =
        PlatformSettings.loopback(URI.create(etcd.endpoint()), Files.createTempDirectory("p"))
            .withTtls(agentsTtl, controllersTtl);
    PlatformApp app = PlatformApp.start(s, telemetry);
    closing.add(app);
    return app;
  }

  private ManagedChannel channel(int port) {
    ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
    closing.add(() -> ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS));
    return ch;
  }

  /** A daemon of {@code area} at {@code ip} in cloud 0 with one running agent "beat". */
  private FakeDaemon daemon(ManagerApp manager, String area, String node, String ip)
      throws Exception {
    FakeDaemon d =
        new FakeDaemon(
                channel(manager.port()),
                Hello.newBuilder()
                    .setNodeId(node)
                    .setHostname("h-" + node)
                    .setIp(ip)
                    .setDaemonVersion("1.2.3")
                    .setLabels(NodeLabels.newBuilder().setArea(area)))
            .hello()
            .keepAlive();
    d.fullState(beat(42));
    return d;
  }

  private static AgentState beat(int pid) {
    return AgentState.newBuilder()
        .setAgentId("beat")
        .setType("filebeat")
        .setLifecycle(Lifecycle.LIFECYCLE_RUNNING)
        .setPid(pid)
        .setMessage("running")
        .build();
  }

  private static CommandResult restarted(io.opsscaffold.api.link.v1.Command c) {
    if (c.hasPushConfig()) {
      return CommandResult.newBuilder()
          .setCommandId(c.getCommandId())
          .setSuccess(true)
          .setConfigOutcome("APPLIED")
          .setConfigHash("sha256:0123456789ab")
          .setMessage("applied " + c.getPushConfig().getFiles(0).getName())
          .build();
    }
    return CommandResult.newBuilder()
        .setCommandId(c.getCommandId())
        .setSuccess(true)
        .setMessage("restarted (pid 42 -> 43)")
        .setAgent(beat(43))
        .build();
  }

  private static ListAgentsResponse all(PlatformServiceGrpc.PlatformServiceBlockingStub api) {
    return api.listAgents(ListAgentsRequest.newBuilder().setPageSize(1000).build());
  }

  @Test
  void listsAgentsOfEveryAreaPagesThemAndFindsOneByItsCode() throws Exception {
    ManagerApp north = manager("north", "n-1");
    ManagerApp south = manager("south", "s-1");
    daemon(north, "north", "web-1", "10.0.0.1");
    daemon(north, "north", "web-2", "10.0.0.2");
    daemon(north, "north", "web-3", "10.0.0.3");
    daemon(south, "south", "db-1", "10.1.0.1");
    daemon(south, "south", "db-2", "10.1.0.2");
    PlatformApp platform = platform(Duration.ofSeconds(1));
    var api = PlatformServiceGrpc.newBlockingStub(channel(platform.port()));

    Await.until(
        Duration.ofSeconds(15),
        "5 agents across areas",
        () -> all(api),
        r ->
            r.getTotal() == 5
                && r.getAgentsList().stream().allMatch(a -> a.getServiceCount() == 1));
    ListAgentsResponse everything = all(api);
    assertEquals(
        List.of("north/web-1", "north/web-2", "north/web-3", "south/db-1", "south/db-2"),
        everything.getAgentsList().stream().map(a -> a.getArea() + "/" + a.getId()).toList());
    assertEquals(List.of(), everything.getMissingAreasList());
    Agent db1 = everything.getAgents(3);
    assertEquals("0:10.1.0.1", db1.getAgentCode());
    assertEquals("s-1", db1.getControllerId());
    assertEquals("online", db1.getStatus());
    assertEquals("healthy", db1.getHealthStatus());
    assertEquals("1.2.3", db1.getVersion());

    // Pages run over the whole fleet, across the areas' boundary.
    ListAgentsResponse page2 =
        api.listAgents(ListAgentsRequest.newBuilder().setPage(2).setPageSize(2).build());
    assertEquals(5, page2.getTotal());
    assertEquals(
        List.of("web-3", "db-1"), page2.getAgentsList().stream().map(Agent::getId).toList());
    assertEquals(
        2, api.listAgents(ListAgentsRequest.newBuilder().setArea("south").build()).getTotal());

    // By code, wherever it lives; an unknown code and bad input are clear errors.
    assertEquals("web-2", api.getAgent(code("0:10.0.0.2")).getId());
    assertEquals("south", api.getAgent(code("0:10.1.0.2")).getArea());
    StatusRuntimeException missing =
        assertThrows(StatusRuntimeException.class, () -> api.getAgent(code("0:10.9.9.9")));
    assertEquals(Status.Code.NOT_FOUND, missing.getStatus().getCode());
    StatusRuntimeException bad =
        assertThrows(
            StatusRuntimeException.class,
            () -> api.listAgents(ListAgentsRequest.newBuilder().setPageSize(5000).build()));
    assertEquals(Status.Code.INVALID_ARGUMENT, bad.getStatus().getCode());
    assertTrue(bad.getStatus().getDescription().contains("pageSize"), bad.getMessage());

    // A batch that cannot be run is refused whole, naming the field.
    StatusRuntimeException noTargets =
        assertThrows(
            StatusRuntimeException.class,
            () ->
                api.batchOperate(
                    BatchOperateRequest.newBuilder()
                        .setOperation("restart")
                        .addServices("beat")
                        .build()));
    assertEquals(Status.Code.INVALID_ARGUMENT, noTargets.getStatus().getCode());
    assertTrue(
        noTargets.getStatus().getDescription().startsWith("targets"), noTargets.getMessage());
    StatusRuntimeException explode =
        assertThrows(
            StatusRuntimeException.class,
            () ->
                api.batchOperate(
                    BatchOperateRequest.newBuilder()
                        .setOperation("explode")
                        .addTargets(Target.newBuilder().setAgentCode("0:10.0.0.1"))
                        .addServices("beat")
                        .build()));
    assertTrue(explode.getStatus().getDescription().startsWith("operation"), explode.getMessage());

    // Availability per area.
    Map<String, AreaAvailability> byArea = new HashMap<>();
    api.getAvailability(GetAvailabilityRequest.getDefaultInstance())
        .getAreasList()
        .forEach(a -> byArea.put(a.getArea(), a));
    assertEquals(3, byArea.get("north").getAgentsOnline());
    assertEquals(2, byArea.get("south").getServicesHealthy());
    assertEquals(2, byArea.get("south").getServicesByAvailabilityOrThrow("ON"));

    // The same over HTTP/JSON, with the guide's camelCase names.
    HttpResponse<String> http =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(
                        URI.create(
                            "http://127.0.0.1:"
                                + platform.port()
                                + "/platform/api/v1/agents/code/0:10.1.0.2"))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    assertEquals(200, http.statusCode(), http.body());
    assertTrue(http.body().contains("\"agentCode\":\"0:10.1.0.2\""), http.body());
    assertTrue(http.body().contains("\"area\":\"south\""), http.body());
  }

  private static GetAgentRequest code(String code) {
    return GetAgentRequest.newBuilder().setAgentCode(code).build();
  }

  @Test
  void changesBetweenListingsReachTheIndexThroughTheAreasWatch() throws Exception {
    ManagerApp north = manager("north", "n-1");
    FakeDaemon web1 = daemon(north, "north", "web-1", "10.0.0.1");
    // Listings a minute apart: only the watch can explain what changes sooner.
    PlatformApp platform = platform(Duration.ofSeconds(60));
    var api = PlatformServiceGrpc.newBlockingStub(channel(platform.port()));
    Await.until(
        Duration.ofSeconds(15),
        "web-1 listed healthy",
        () -> all(api),
        r -> r.getTotal() == 1 && r.getAgents(0).getHealthStatus().equals("healthy"));

    web1.delta(
        AgentState.newBuilder()
            .setAgentId("beat")
            .setType("filebeat")
            .setLifecycle(Lifecycle.LIFECYCLE_CRASH_LOOP)
            .setMessage("exited 1")
            .build());
    Await.until(
        Duration.ofSeconds(10),
        "web-1 unhealthy through the watch",
        () -> api.getAgent(code("0:10.0.0.1")),
        a -> a.getHealthStatus().equals("unhealthy"));

    daemon(north, "north", "web-2", "10.0.0.2");
    Agent web2 =
        Await.until(
            Duration.ofSeconds(10),
            "a new host indexed through the watch",
            () -> {
              try {
                return api.getAgent(code("0:10.0.0.2"));
              } catch (StatusRuntimeException e) {
                return null;
              }
            },
            a -> a != null);
    assertEquals("web-2", web2.getId());
    assertEquals(2, all(api).getTotal());
  }

  @Test
  void keepsServingWhileEtcdIsAwayAndFollowsItAgainWhenItIsBack() throws Exception {
    ManagerApp north = manager("north", "n-1");
    daemon(north, "north", "web-1", "10.0.0.1");
    // Controllers silent in etcd for 2 s (their records are rewritten every second) count as
    // offline, while etcd answers.
    PlatformApp platform = platform(Duration.ofSeconds(1), Duration.ofSeconds(2));
    var api = PlatformServiceGrpc.newBlockingStub(channel(platform.port()));
    Await.until(Duration.ofSeconds(15), "north listed", () -> all(api), r -> r.getTotal() == 1);

    // Discovery cannot list or watch; the controllers it knows still answer, so the areas are
    // listed as before: nothing missing, nothing stale. Their records cannot be rewritten while
    // etcd is away, so their age does not make them offline.
    etcd.stop();
    Await.holds(
        Duration.ofSeconds(5),
        "north served fresh while etcd is away",
        () -> {
          ListAgentsResponse r = all(api);
          return r.getTotal() == 1 && r.getMissingAreasCount() == 0 && r.getStaleAreasCount() == 0;
        });

    etcd.restart();
    ManagerApp south = manager("south", "s-1");
    daemon(south, "south", "db-1", "10.1.0.1");
    Await.until(
        Duration.ofSeconds(20),
        "a controller registered after etcd came back",
        () -> all(api),
        r -> r.getTotal() == 2 && r.getMissingAreasCount() == 0);
  }

  @Test
  void followsAControllerJoiningAndLeavingAndSaysWhichAreaIsMissingOrStale() throws Exception {
    ManagerApp north = manager("north", "n-1");
    daemon(north, "north", "web-1", "10.0.0.1");
    PlatformApp platform = platform(Duration.ofSeconds(1));
    var api = PlatformServiceGrpc.newBlockingStub(channel(platform.port()));
    Await.until(Duration.ofSeconds(15), "north listed", () -> all(api), r -> r.getTotal() == 1);

    ManagerApp south = manager("south", "s-1");
    daemon(south, "south", "db-1", "10.1.0.1");
    Await.until(
        Duration.ofSeconds(15),
        "south's controller and agent",
        () -> all(api),
        r -> r.getTotal() == 2 && r.getMissingAreasCount() == 0);
    assertEquals(
        List.of("north/n-1", "south/s-1"),
        api
            .listControllers(ListControllersRequest.getDefaultInstance())
            .getControllersList()
            .stream()
            .map(c -> c.getArea() + "/" + c.getId())
            .toList());

    // South's only controller stops: it deregisters, and the platform says so within seconds.
    south.close();
    Await.until(
        Duration.ofSeconds(5),
        "south's controller gone",
        () -> api.listControllers(ListControllersRequest.getDefaultInstance()),
        r -> r.getControllersCount() == 1 && r.getOfflineAreasList().equals(List.of("south")));
    // Its agents are still served, from the last listing, with its age, and the area is stale.
    ListAgentsResponse stale =
        Await.until(
            Duration.ofSeconds(10),
            "south reported stale",
            () -> all(api),
            r -> r.getStaleAreasList().stream().anyMatch(s -> s.getArea().equals("south")));
    assertEquals(2, stale.getTotal());
    assertTrue(
        stale.getStaleAreasList().stream()
            .filter(s -> s.getArea().equals("south"))
            .allMatch(s -> s.getReason().contains("no online controller")),
        stale.toString());
    // What an operator's dashboard sees of it: the platform's metrics, read from its index.
    var reader = io.opentelemetry.sdk.testing.exporter.InMemoryMetricReader.create();
    try (var provider =
        io.opentelemetry.sdk.metrics.SdkMeterProvider.builder()
            .registerMetricReader(reader)
            .build()) {
      PlatformMetrics.register(provider.get("test"), platform.index());
      Map<String, Long> areasByState = new HashMap<>();
      long hosts = -1;
      long failedListings = -1;
      for (var metric : reader.collectAllMetrics()) {
        switch (metric.getName()) {
          case "ops.platform.areas" ->
              metric
                  .getLongGaugeData()
                  .getPoints()
                  .forEach(
                      p ->
                          areasByState.put(
                              p.getAttributes().get(PlatformMetrics.STATE), p.getValue()));
          case "ops.platform.hosts" ->
              hosts = metric.getLongGaugeData().getPoints().iterator().next().getValue();
          case "ops.platform.listings" ->
              failedListings =
                  metric.getLongSumData().getPoints().stream()
                      .filter(p -> "failed".equals(p.getAttributes().get(PlatformMetrics.RESULT)))
                      .mapToLong(p -> p.getValue())
                      .sum();
          default -> {}
        }
      }
      assertEquals(Map.of("fresh", 1L, "stale", 1L, "missing", 0L), areasByState);
      assertEquals(2, hosts);
      assertTrue(failedListings > 0, "south's failed listings are counted");
    }
    Agent db1 = api.getAgent(code("0:10.1.0.1"));
    // Served with its age: at least half the TTL, when the area was first reported stale.
    assertTrue(com.google.protobuf.util.Durations.toMillis(db1.getAge()) >= 500, db1.toString());
  }

  @Test
  void aCrossAreaBatchReportsEveryTargetOfAnAreaThatDiesHalfWay() throws Exception {
    ManagerApp north = manager("north", "n-1");
    // The platform reaches south's manager through a proxy: cutting it is the manager dying, as
    // the platform sees it (every connection reset, new ones refused).
    int southPort = freePort();
    io.opsscaffold.testing.TcpProxy proxy =
        new io.opsscaffold.testing.TcpProxy("127.0.0.1", southPort);
    closing.add(proxy);
    ManagerApp south =
        manager(
            "south", "s-1", southPort, Optional.of(URI.create("http://127.0.0.1:" + proxy.port())));
    daemon(north, "north", "web-1", "10.0.0.1").answerCommands(PlatformIT::restarted);
    daemon(north, "north", "web-2", "10.0.0.2").answerCommands(PlatformIT::restarted);
    CountDownLatch southAsked = new CountDownLatch(1);
    // South's daemons take the command and never answer: the batch is under way there when its
    // manager goes away.
    for (String node : List.of("db-1", "db-2")) {
      daemon(south, "south", node, node.equals("db-1") ? "10.1.0.1" : "10.1.0.2")
          .answerCommands(
              c -> {
                southAsked.countDown();
                try {
                  Thread.sleep(60_000);
                } catch (InterruptedException e) {
                  Thread.currentThread().interrupt();
                }
                return restarted(c);
              });
    }
    PlatformApp platform = platform(Duration.ofSeconds(1));
    var stub = PlatformServiceGrpc.newBlockingStub(channel(platform.port()));
    Await.until(Duration.ofSeconds(15), "4 agents", () -> all(stub), r -> r.getTotal() == 4);

    BatchOperateRequest req =
        BatchOperateRequest.newBuilder()
            .setOperation("restart")
            .addTargets(Target.newBuilder().setAgentCode("0:10.0.0.1"))
            .addTargets(Target.newBuilder().setArea("south").setId("db-1"))
            .addTargets(Target.newBuilder().setAgentCode("0:10.1.0.2"))
            .addTargets(Target.newBuilder().setArea("north").setId("web-2"))
            .addTargets(Target.newBuilder().setAgentCode("7:192.0.2.1"))
            .addServices("beat")
            .build();
    List<ItemResult> streamed = new ArrayList<>();
    BatchResponse[] summary = new BatchResponse[1];
    Thread caller =
        Thread.ofVirtual()
            .start(
                () -> {
                  Iterator<BatchProgress> steps = stub.streamBatchOperate(req);
                  while (steps.hasNext()) {
                    BatchProgress p = steps.next();
                    if (p.hasItem()) {
                      synchronized (streamed) {
                        streamed.add(p.getItem());
                      }
                    } else {
                      summary[0] = p.getSummary();
                    }
                  }
                });
    assertTrue(southAsked.await(15, TimeUnit.SECONDS), "south's daemons were asked");
    Await.until(
        Duration.ofSeconds(10),
        "north's items and the unknown code reported while south runs",
        () -> {
          synchronized (streamed) {
            return streamed.size();
          }
        },
        n -> n == 3);
    proxy.cut(); // the area goes away half way
    caller.join(Duration.ofSeconds(30));
    BatchResponse r = summary[0];
    assertTrue(r != null, "a summary arrived");
    assertEquals(5, r.getTotal());
    assertEquals(2, r.getSuccess());
    assertEquals(3, r.getFailed());
    assertEquals(
        List.of("OK", "UNAVAILABLE", "UNAVAILABLE", "OK", "NOT_FOUND"),
        r.getResultsList().stream().map(ItemResult::getCode).toList(),
        r.toString());
    assertEquals(
        List.of("web-1", "db-1", "db-2", "web-2", ""),
        r.getResultsList().stream().map(ItemResult::getId).toList());
    assertEquals(
        List.of("0:10.0.0.1", "0:10.1.0.1", "0:10.1.0.2", "0:10.0.0.2", "7:192.0.2.1"),
        r.getResultsList().stream().map(ItemResult::getAgentCode).toList(),
        "every result carries the host's code, however its target was named");
    assertEquals(5, streamed.size(), "every item was streamed once");
    var southOutcome =
        r.getAreasList().stream()
            .filter(a -> a.getArea().equals("south"))
            .findFirst()
            .orElseThrow();
    assertEquals("s-1", southOutcome.getControllerId());
    assertEquals(2, southOutcome.getFailed());
    assertEquals("UNAVAILABLE", southOutcome.getCode());
    assertTrue(
        r.getResults(1).getMessage().contains("outcome of items it did not report is unknown"),
        r.getResults(1).toString());
    var northOutcome =
        r.getAreasList().stream()
            .filter(a -> a.getArea().equals("north"))
            .findFirst()
            .orElseThrow();
    assertEquals("OK", northOutcome.getCode());
    assertTrue(!northOutcome.getOperationId().isEmpty(), "north's operations log entry");

    // With the area's manager gone from etcd too, its targets are answered UNAVAILABLE at once
    // and nothing is dropped.
    south.close();
    Await.until(
        Duration.ofSeconds(5),
        "south offline",
        () -> stub.listControllers(ListControllersRequest.getDefaultInstance()),
        c -> c.getOfflineAreasList().contains("south"));
    BatchResponse again = stub.batchOperate(req);
    assertEquals(5, again.getTotal());
    assertEquals(
        List.of("OK", "UNAVAILABLE", "UNAVAILABLE", "OK", "NOT_FOUND"),
        again.getResultsList().stream().map(ItemResult::getCode).toList());
    assertTrue(
        again.getResults(1).getMessage().contains("no online controller"),
        again.getResults(1).toString());
  }

  /** What a run of the packaged opsctl printed and how it ended. */
  private record Run(int exit, String out, String err) {}

  private static Run opsctl(Path config, String... args) throws Exception {
    Path jar = Path.of("..", "cli", "target", "opsctl.jar").toAbsolutePath();
    assertTrue(Files.exists(jar), jar + " is built by the cli module (mvn install -pl cli)");
    List<String> command =
        new ArrayList<>(
            List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:TieredStopAtLevel=1",
                "-jar",
                jar.toString()));
    command.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(command);
    pb.environment().put("OPSCTL_CONFIG", config.toString());
    pb.environment().remove("OPSCTL_CONTEXT");
    Process p = pb.start();
    p.getOutputStream().close();
    String out =
        new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    String err =
        new String(p.getErrorStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "opsctl ended");
    return new Run(p.exitValue(), out, err);
  }

  @Test
  void opsctlInAPlatformContextAnswersForEveryAreaWithAnAreaColumn() throws Exception {
    ManagerApp north = manager("north", "n-1");
    ManagerApp south = manager("south", "s-1");
    FakeDaemon web1 =
        daemon(north, "north", "web-1", "10.0.0.1").answerCommands(PlatformIT::restarted);
    FakeDaemon db1 =
        daemon(south, "south", "db-1", "10.1.0.1").answerCommands(PlatformIT::restarted);
    PlatformApp platform = platform(Duration.ofSeconds(1));
    var api = PlatformServiceGrpc.newBlockingStub(channel(platform.port()));
    Await.until(
        Duration.ofSeconds(15), "both areas listed", () -> all(api), r -> r.getTotal() == 2);
    Path config = Files.createTempDirectory("opsctl").resolve("config");

    Run login =
        opsctl(
            config,
            "login",
            "127.0.0.1:" + platform.port(),
            "--insecure",
            "--platform",
            "--name",
            "plat");
    assertEquals(0, login.exit(), login.err());
    assertTrue(login.out().contains("(2 controllers in 2 areas)"), login.out());

    Run nodes = opsctl(config, "get", "nodes");
    assertEquals(0, nodes.exit(), nodes.err());
    List<String> lines = nodes.out().lines().toList();
    assertTrue(lines.get(0).startsWith("AREA"), nodes.out());
    assertTrue(lines.get(0).contains("CODE"), nodes.out());
    assertTrue(
        lines.get(1).matches("north +web-1 +0:10\\.0\\.0\\.1 +ONLINE +healthy +1 .*"), nodes.out());
    assertTrue(
        lines.get(2).matches("south +db-1 +0:10\\.1\\.0\\.1 +ONLINE +healthy +1 .*"), nodes.out());

    Run controllers = opsctl(config, "get", "controllers");
    assertEquals(0, controllers.exit(), controllers.err());
    assertTrue(
        controllers.out().contains("north") && controllers.out().contains("s-1"),
        controllers.out());

    Run byArea = opsctl(config, "restart", "south/db-1/beat");
    assertEquals(0, byArea.exit(), byArea.err());
    assertEquals("south/db-1/beat restart: restarted (pid 42 -> 43)", byArea.out().strip());
    Run byCode = opsctl(config, "restart", "0:10.0.0.1/beat");
    assertEquals(0, byCode.exit(), byCode.err());
    assertTrue(byCode.out().startsWith("north/web-1/beat restart: restarted"), byCode.out());
    Run unknown = opsctl(config, "restart", "0:10.9.9.9/beat");
    assertEquals(3, unknown.exit(), unknown.out() + unknown.err());
    assertTrue(unknown.out().contains("NOT_FOUND: no agent with code 0:10.9.9.9"), unknown.out());

    // Configuration for one service on hosts of both areas, in one call, and in one trace: the
    // caller's trace reaches both areas' daemons through the platform and the managers.
    String traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    io.grpc.Metadata traced = new io.grpc.Metadata();
    traced.put(
        io.grpc.Metadata.Key.of("traceparent", io.grpc.Metadata.ASCII_STRING_MARSHALLER),
        "00-" + traceId + "-00f067aa0ba902b7-01");
    int web1Before = web1.answeredTraces.size();
    int db1Before = db1.answeredTraces.size();
    BatchResponse pushed =
        api.withInterceptors(io.grpc.stub.MetadataUtils.newAttachHeadersInterceptor(traced))
            .batchConfigs(
                io.opsscaffold.api.platform.v1.BatchConfigsRequest.newBuilder()
                    .addTargets(Target.newBuilder().setAgentCode("0:10.0.0.1"))
                    .addTargets(Target.newBuilder().setArea("south").setId("db-1"))
                    .setService("beat")
                    .addConfigs(
                        io.opsscaffold.api.platform.v1.ConfigFile.newBuilder()
                            .setFileName("beat.yml")
                            .setContent("level: debug\n"))
                    .build());
    assertEquals(2, pushed.getSuccess(), pushed.toString());
    assertEquals(
        List.of("APPLIED", "APPLIED"),
        pushed.getResultsList().stream().map(ItemResult::getOutcome).toList());
    assertEquals(
        List.of("north", "south"), pushed.getAreasList().stream().map(a -> a.getArea()).toList());
    assertTrue(pushed.getResults(1).getMessage().contains("beat.yml"), pushed.toString());
    for (FakeDaemon d : List.of(web1, db1)) {
      com.google.protobuf.ByteString context =
          d.answeredTraces.get(d == web1 ? web1Before : db1Before);
      assertEquals(
          traceId,
          java.util.HexFormat.of().formatHex(context.substring(0, 16).toByteArray()),
          d.nodeId + "'s command is in the caller's trace");
    }

    // The same host named twice (by code, and by area and id) is restarted once; both namings
    // get its result.
    int before = web1.answeredTraces.size();
    BatchResponse twice =
        api.batchOperate(
            BatchOperateRequest.newBuilder()
                .setOperation("restart")
                .addTargets(Target.newBuilder().setAgentCode("0:10.0.0.1"))
                .addTargets(Target.newBuilder().setArea("north").setId("web-1"))
                .addServices("beat")
                .build());
    assertEquals(2, twice.getTotal());
    assertEquals(2, twice.getSuccess(), twice.toString());
    assertEquals(before + 1, web1.answeredTraces.size(), "one restart for two namings");

    Run availability = opsctl(config, "availability");
    assertEquals(0, availability.exit(), availability.err());
    assertTrue(
        availability.out().lines().anyMatch(l -> l.matches("south +1 +1 +1 .*")),
        availability.out());

    Run agents = opsctl(config, "get", "agents");
    assertEquals(2, agents.exit(), agents.out());
    assertTrue(agents.err().contains("not available in a platform context"), agents.err());

    // An area that goes away is named, not silently missing.
    south.close();
    Await.until(
        Duration.ofSeconds(15),
        "opsctl to warn about south",
        () -> {
          try {
            return opsctl(config, "get", "nodes");
          } catch (Exception e) {
            throw new IllegalStateException(e);
          }
        },
        r -> r.exit() == 0 && r.err().contains("area south is from a listing"));
  }
}
