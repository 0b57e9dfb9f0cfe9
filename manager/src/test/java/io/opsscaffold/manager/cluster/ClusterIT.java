package io.opsscaffold.manager.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.util.JsonFormat;
import com.google.protobuf.util.Timestamps;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.WatchOption;
import io.etcd.jetcd.watch.WatchEvent;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.opsscaffold.api.compat.controller.v1.ControllerRegistration;
import io.opsscaffold.api.fleet.v1.AgentEvent;
import io.opsscaffold.api.fleet.v1.AlertEvent;
import io.opsscaffold.api.fleet.v1.FleetServiceGrpc;
import io.opsscaffold.api.fleet.v1.ListAlertsRequest;
import io.opsscaffold.api.fleet.v1.WatchAgentsRequest;
import io.opsscaffold.api.fleet.v1.WatchAlertsRequest;
import io.opsscaffold.api.link.v1.AgentState;
import io.opsscaffold.api.status.v1.Lifecycle;
import io.opsscaffold.manager.ManagerApp;
import io.opsscaffold.manager.ManagerSettings;
import io.opsscaffold.manager.link.FakeDaemon;
import io.opsscaffold.manager.persistence.TestDatabases;
import io.opsscaffold.observability.Telemetry;
import io.opsscaffold.observability.TelemetryPolicy;
import io.opsscaffold.testing.Await;
import io.opsscaffold.testing.EtcdServer;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Managers on a real etcd and a real PostgreSQL: the Controller registration the platform reads,
 * its clean and its lease-bound end, and one leader per area that moves when it stops.
 */
class ClusterIT {
  private EtcdServer etcd;
  private Client client;
  private TestDatabases.Created pg;
  private Telemetry telemetry;
  private final List<AutoCloseable> closing = new ArrayList<>();

  @BeforeEach
  void start() {
    etcd = EtcdServer.start();
    client = Client.builder().endpoints(etcd.endpoint()).build();
    pg = TestDatabases.postgres();
    telemetry = Telemetry.start(new TelemetryPolicy("test", Optional.empty(), Optional.of("none")));
  }

  @AfterEach
  void stop() throws Exception {
    for (AutoCloseable c : closing.reversed()) {
      c.close();
    }
    client.close();
    etcd.close();
    telemetry.close();
    pg.close();
  }

  private ManagerApp manager(String area, String id) throws Exception {
    return manager(area, id, Optional.empty());
  }

  /** A manager of {@code area} on the shared database and etcd, posting alerts to {@code hook}. */
  private ManagerApp manager(String area, String id, Optional<URI> hook) throws Exception {
    java.nio.file.Path data = Files.createTempDirectory("m");
    ManagerApp app =
        ManagerApp.start(
            new ManagerSettings(
                    "127.0.0.1",
                    0,
                    pg.settings(data),
                    Duration.ofSeconds(5),
                    Duration.ofMillis(300),
                    Duration.ofSeconds(5),
                    Optional.empty(),
                    Duration.ofSeconds(1),
                    hook,
                    io.opsscaffold.manager.tls.TlsPolicy.insecure(data),
                    ManagerSettings.Limits.DEFAULT)
                .withCluster(
                    ClusterSettings.none()
                        .with(List.of(URI.create(etcd.endpoint())), area, id)
                        .plaintextOnLoopback()
                        .withTimings(Duration.ofSeconds(2), Duration.ofSeconds(1))),
            telemetry);
    closing.add(app);
    return app;
  }

  private Optional<String> value(String key) {
    try {
      List<KeyValue> kvs = client.getKVClient().get(bytes(key)).get(5, TimeUnit.SECONDS).getKvs();
      return kvs.isEmpty() ? Optional.empty() : Optional.of(kvs.getFirst().getValue().toString());
    } catch (Exception e) {
      throw new IllegalStateException("etcd read of " + key + " failed", e);
    }
  }

  private static ControllerRegistration parse(String json) {
    try {
      ControllerRegistration.Builder b = ControllerRegistration.newBuilder();
      JsonFormat.parser().merge(json, b);
      return b.build();
    } catch (Exception e) {
      throw new AssertionError("not a Controller record: " + json, e);
    }
  }

  private static ByteSequence bytes(String s) {
    return ByteSequence.from(s, StandardCharsets.UTF_8);
  }

  @Test
  void registersAsTheControllerThePlatformReadsAndKeepsItFresh() throws Exception {
    ManagerApp app = manager("north", "m1");

    String json =
        Await.until(
                Duration.ofSeconds(10),
                "controllers/north/m1 in etcd",
                () -> value("controllers/north/m1"),
                Optional::isPresent)
            .get();
    // The keys the guide's Go struct reads (Go matches them case-insensitively).
    for (String key :
        List.of(
            "\"id\"",
            "\"area\"",
            "\"address\"",
            "\"status\"",
            "\"version\"",
            "\"startTime\"",
            "\"lastHeartbeat\"",
            "\"agentCount\"",
            "\"metadata\"")) {
      assertTrue(json.contains(key), key + " missing from " + json);
    }
    ControllerRegistration first = parse(json);
    assertEquals("m1", first.getId());
    assertEquals("north", first.getArea());
    assertEquals("online", first.getStatus());
    assertEquals(ManagerApp.VERSION, first.getVersion());
    assertTrue(
        first.getAddress().matches("http://[^/]+:" + app.port() + "/compat/controller"),
        first.getAddress());
    assertEquals(0, first.getAgentCount());
    assertTrue(json.matches("(?s).*\"startTime\": \"\\d{4}-\\d\\d-\\d\\dT[^\"]+Z\".*"), json);
    // Alone in its area, it leads, and says so.
    Await.until(Duration.ofSeconds(10), "the lead", app::leader, l -> l);
    Await.until(
        Duration.ofSeconds(5),
        "metadata.leader true",
        () -> parse(value("controllers/north/m1").orElseThrow()).getMetadataMap().get("leader"),
        "true"::equals);

    // A daemon's stream counts within a second or two, not at the next refresh only.
    ManagedChannel channel = channelTo(app);
    new FakeDaemon(channel, "n1").hello().keepAlive();
    Await.until(
        Duration.ofSeconds(5),
        "agentCount 1",
        () -> parse(value("controllers/north/m1").orElseThrow()).getAgentCount(),
        c -> c == 1);

    // lastHeartbeat moves every refresh interval (1 s here).
    ControllerRegistration now = parse(value("controllers/north/m1").orElseThrow());
    Await.until(
        Duration.ofSeconds(5),
        "a later lastHeartbeat",
        () -> parse(value("controllers/north/m1").orElseThrow()).getLastHeartbeat(),
        t -> Timestamps.compare(t, now.getLastHeartbeat()) > 0);
    assertEquals(first.getStartTime(), now.getStartTime());
  }

  @Test
  void aNodeMovingToAnotherManagerIsClaimedThereAndNeverOffline() throws Exception {
    ManagerApp a = manager("north", "a");
    ManagerApp b = manager("north", "b");
    ManagedChannel toA = channelTo(a);
    ManagedChannel toB = channelTo(b);
    FakeDaemon first = new FakeDaemon(toA, "n1").hello().keepAlive();
    Await.until(
        Duration.ofSeconds(5),
        "n1's claim by a",
        () -> value("streams/north/n1").orElse(""),
        v -> v.startsWith("a "));

    // The daemon moves (its manager failed, as it sees it): a new stream on b, then the old one
    // on a ends. b's claim stands; a's release does not delete it.
    FakeDaemon second = new FakeDaemon(toB, "n1").hello().keepAlive();
    Await.until(
        Duration.ofSeconds(5),
        "n1's claim by b",
        () -> value("streams/north/n1").orElse(""),
        v -> v.startsWith("b "));
    first.out.onCompleted();
    Await.until(
        Duration.ofSeconds(5), "the first stream to end", () -> first.ended.isDone(), d -> d);
    // Far longer than the offline grace (300 ms): the node stays ONLINE, held by b.
    long until = System.nanoTime() + Duration.ofSeconds(2).toNanos();
    while (System.nanoTime() < until) {
      String seen =
          value("streams/north/n1").orElse("").split(" ")[0]
              + " "
              + node(a, "n1")
              + " "
              + node(b, "n1");
      assertEquals(
          "b CONNECTIVITY_ONLINE CONNECTIVITY_ONLINE", seen, "claim, and n1 as a and b list it");
      Thread.sleep(50);
    }

    // Its stream on b ends and it comes back nowhere: the leader judges it OFFLINE after the grace.
    second.out.onCompleted();
    Await.until(
        Duration.ofSeconds(10), "n1 OFFLINE", () -> node(a, "n1"), "CONNECTIVITY_OFFLINE"::equals);
    assertTrue(value("streams/north/n1").isEmpty());
  }

  @Test
  void watchesAndAlertsOnEveryManagerFollowWhatAnotherCommitted() throws Exception {
    // Both managers post alerts to one webhook: only the leader may, so each event comes once.
    List<String> posted = new CopyOnWriteArrayList<>();
    com.sun.net.httpserver.HttpServer hook =
        com.sun.net.httpserver.HttpServer.create(new java.net.InetSocketAddress("127.0.0.1", 0), 0);
    hook.createContext(
        "/",
        x -> {
          posted.add(new String(x.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
          x.sendResponseHeaders(204, -1);
          x.close();
        });
    hook.start();
    closing.add(() -> hook.stop(0));
    Optional<URI> hookUrl =
        Optional.of(URI.create("http://127.0.0.1:" + hook.getAddress().getPort() + "/"));
    ManagerApp a = manager("north", "a", hookUrl);
    ManagerApp b = manager("north", "b", hookUrl);
    Await.until(Duration.ofSeconds(10), "a leader", () -> a.leader() || b.leader(), l -> l);
    ManagerApp leader = a.leader() ? a : b;
    ManagerApp follower = leader == a ? b : a;
    ManagedChannel toLeader = channelTo(leader);
    ManagedChannel toFollower = channelTo(follower);
    // An agent watch on the leader, an alert watch on the follower; the daemon on the follower.
    var agentEvents = new java.util.concurrent.LinkedBlockingQueue<AgentEvent>();
    var alertEvents = new java.util.concurrent.LinkedBlockingQueue<AlertEvent>();
    FleetServiceGrpc.newStub(toLeader)
        .watchAgents(WatchAgentsRequest.getDefaultInstance(), collect(agentEvents));
    FleetServiceGrpc.newStub(toFollower)
        .watchAlerts(WatchAlertsRequest.getDefaultInstance(), collect(alertEvents));
    assertEquals("SYNCED", next(agentEvents).getChange());
    assertEquals("SYNCED", next(alertEvents).getChange());

    FakeDaemon d = new FakeDaemon(toFollower, "n1").hello().keepAlive();
    d.fullState(state("x", Lifecycle.LIFECYCLE_RUNNING, "running"));
    AgentEvent seen = next(agentEvents);
    assertEquals("UPDATED", seen.getChange());
    assertEquals("n1", seen.getAgent().getNodeId());
    assertEquals("x", seen.getAgent().getAgentId());
    assertEquals("LIFECYCLE_RUNNING", seen.getAgent().getLifecycle().name());

    // The agent stops by itself: the leader, which heard the follower's commit, opens the alert;
    // the follower's watchers hear of it.
    d.delta(state("x", Lifecycle.LIFECYCLE_STOPPED, "stopped (exited with code 0)"));
    AlertEvent opened = next(alertEvents);
    assertEquals("OPENED", opened.getChange());
    assertEquals("OFF", opened.getAlert().getKind());
    assertEquals("n1", opened.getAlert().getNodeId());
    // Once: the follower does not judge.
    assertEquals(
        1,
        FleetServiceGrpc.newBlockingStub(toFollower)
            .listAlerts(ListAlertsRequest.newBuilder().setState("open").build())
            .getTotal());
    d.delta(state("x", Lifecycle.LIFECYCLE_RUNNING, "running"));
    assertEquals("RESOLVED", next(alertEvents).getChange());
    assertTrue(alertEvents.poll(500, TimeUnit.MILLISECONDS) == null, "one event per change");
    Await.until(Duration.ofSeconds(5), "both events at the webhook", posted::size, n -> n >= 2);
    Await.holds(Duration.ofSeconds(1), "no event posted twice", () -> posted.size() == 2);
    assertTrue(
        posted.get(0).contains("\"OPENED\"") && posted.get(1).contains("\"RESOLVED\""),
        posted.toString());
  }

  @Test
  void anyManagerOperatesANodeWhoseStreamAnotherManagerHolds() throws Exception {
    ManagerApp a = manager("north", "a");
    ManagerApp b = manager("north", "b");
    ManagedChannel toA = channelTo(a);
    ManagedChannel toB = channelTo(b);
    FakeDaemon d =
        new FakeDaemon(toA, "n1")
            .hello()
            .keepAlive()
            .answerCommands(
                c ->
                    c.hasReadLogs()
                        ? io.opsscaffold.api.link.v1.CommandResult.newBuilder()
                            .setCommandId(c.getCommandId())
                            .setSuccess(true)
                            .addLogLines("one")
                            .addLogLines("two")
                            .build()
                        : io.opsscaffold.api.link.v1.CommandResult.newBuilder()
                            .setCommandId(c.getCommandId())
                            .setSuccess(true)
                            .setMessage("restarted (pid 42 -> 43)")
                            .setAgent(state("x", Lifecycle.LIFECYCLE_RUNNING, "running"))
                            .build());
    d.fullState(state("x", Lifecycle.LIFECYCLE_RUNNING, "running"));
    Await.until(
        Duration.ofSeconds(5),
        "n1's claim by a",
        () -> value("streams/north/n1").orElse(""),
        v -> v.startsWith("a "));
    var onB = FleetServiceGrpc.newBlockingStub(toB);
    Await.until(
        Duration.ofSeconds(5),
        "b to list n1/x",
        () ->
            onB.listAgents(
                    io.opsscaffold.api.fleet.v1.ListAgentsRequest.newBuilder()
                        .setNodeId("n1")
                        .build())
                .getAgentsCount(),
        n -> n == 1);

    // b does not hold n1's stream: it relays to a, which sends the command down the stream.
    var restarted =
        onB.operateAgent(
            io.opsscaffold.api.fleet.v1.OperateAgentRequest.newBuilder()
                .setNodeId("n1")
                .setAgentId("x")
                .setOperation("restart")
                .build());
    assertTrue(restarted.getSuccess());
    assertEquals("restarted (pid 42 -> 43)", restarted.getMessage());
    assertEquals(
        List.of("one", "two"),
        onB.getAgentLogs(
                io.opsscaffold.api.fleet.v1.GetAgentLogsRequest.newBuilder()
                    .setNodeId("n1")
                    .setAgentId("x")
                    .build())
            .getLinesList());

    // Its manager stops (its claims go with it) and the daemon connects nowhere: b answers at once
    // that the node's daemon is not connected.
    a.close();
    Await.until(
        Duration.ofSeconds(5),
        "n1's claim gone",
        () -> value("streams/north/n1"),
        Optional::isEmpty);
    long asked = System.nanoTime();
    io.grpc.StatusRuntimeException e =
        org.junit.jupiter.api.Assertions.assertThrows(
            io.grpc.StatusRuntimeException.class,
            () ->
                onB.operateAgent(
                    io.opsscaffold.api.fleet.v1.OperateAgentRequest.newBuilder()
                        .setNodeId("n1")
                        .setAgentId("x")
                        .setOperation("restart")
                        .build()));
    assertEquals(io.grpc.Status.Code.UNAVAILABLE, e.getStatus().getCode());
    assertTrue(e.getStatus().getDescription().contains("node n1"), e.getStatus().getDescription());
    assertTrue(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - asked) < 2000);
  }

  private static AgentState state(String id, Lifecycle lifecycle, String message) {
    return AgentState.newBuilder()
        .setAgentId(id)
        .setType("t")
        .setLifecycle(lifecycle)
        .setPid(lifecycle == Lifecycle.LIFECYCLE_RUNNING ? 42 : 0)
        .setMessage(message)
        .build();
  }

  private static <T> io.grpc.stub.StreamObserver<T> collect(java.util.Queue<T> into) {
    return new io.grpc.stub.StreamObserver<>() {
      @Override
      public void onNext(T value) {
        into.add(value);
      }

      @Override
      public void onError(Throwable t) {}

      @Override
      public void onCompleted() {}
    };
  }

  private static <T> T next(java.util.concurrent.BlockingQueue<T> events)
      throws InterruptedException {
    T e = events.poll(10, TimeUnit.SECONDS);
    if (e == null) {
      throw new AssertionError("no event within 10 s");
    }
    return e;
  }

  /** A plaintext channel to {@code app}, shut down after the test. */
  private ManagedChannel channelTo(ManagerApp app) {
    ManagedChannel channel =
        NettyChannelBuilder.forAddress("127.0.0.1", app.port()).usePlaintext().build();
    closing.add(() -> channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS));
    return channel;
  }

  /** The node's connectivity as {@code app}'s API lists it. */
  private String node(ManagerApp app, String nodeId) {
    ManagedChannel channel =
        NettyChannelBuilder.forAddress("127.0.0.1", app.port()).usePlaintext().build();
    try {
      return io.opsscaffold.api.fleet.v1.FleetServiceGrpc.newBlockingStub(channel)
          .getNode(
              io.opsscaffold.api.fleet.v1.GetNodeRequest.newBuilder().setNodeId(nodeId).build())
          .getConnectivity()
          .name();
    } finally {
      channel.shutdownNow();
    }
  }

  @Test
  void overTlsTheManagerPresentsItsCertificateAndEtcdRefusesAClientWithout() throws Exception {
    java.nio.file.Path dir = Files.createTempDirectory("etcd-tls");
    var ca =
        io.opsscaffold.security.CertificateAuthority.loadOrCreate(
            dir.resolve("ca"), java.time.Clock.systemUTC());
    var server = ca.issueServer("etcd", List.of("127.0.0.1", "localhost"), Duration.ofDays(1));
    java.security.KeyPair pair = io.opsscaffold.security.CertificateAuthority.newKeyPair();
    var client = ca.issueManager(pair.getPublic(), "m1", Duration.ofDays(1));
    java.nio.file.Path caFile =
        Files.writeString(
            dir.resolve("ca.crt"), io.opsscaffold.security.Pem.encode(ca.certificate()));
    java.nio.file.Path serverCert =
        Files.writeString(
            dir.resolve("etcd.crt"), io.opsscaffold.security.Pem.encode(server.chain().toArray()));
    java.nio.file.Path serverKey =
        Files.writeString(
            dir.resolve("etcd.key"), io.opsscaffold.security.Pem.encode(server.key()));
    java.nio.file.Path clientCert =
        Files.writeString(dir.resolve("client.crt"), io.opsscaffold.security.Pem.encode(client));
    java.nio.file.Path clientKey =
        Files.writeString(
            dir.resolve("client.key"), io.opsscaffold.security.Pem.encode(pair.getPrivate()));
    try (EtcdServer secure =
        EtcdServer.startTls(new EtcdServer.Tls(serverCert, serverKey, caFile))) {
      assertTrue(secure.endpoint().startsWith("https://"));
      ClusterSettings c =
          new ClusterSettings(
              List.of(URI.create(secure.endpoint())),
              Optional.of(caFile),
              Optional.of(clientCert),
              Optional.of(clientKey),
              Duration.ofSeconds(5),
              Duration.ofSeconds(2),
              "secure",
              "m1",
              Optional.empty(),
              Duration.ofSeconds(1),
              ClusterSettings.DEFAULT_PREFIX,
              false);
      ManagerApp app =
          ManagerApp.start(
              new ManagerSettings(
                      "127.0.0.1",
                      0,
                      pg.settings(Files.createTempDirectory("m")),
                      Duration.ofSeconds(5),
                      Duration.ofMillis(300),
                      Duration.ofSeconds(5),
                      Optional.empty())
                  .withCluster(c),
              telemetry);
      try {
        Await.until(Duration.ofSeconds(10), "the lead, over TLS", app::leader, l -> l);
        try (Etcd etcd = Etcd.connect(c)) {
          String json =
              Await.until(
                  Duration.ofSeconds(10),
                  "the registration, read over TLS",
                  () -> {
                    try {
                      var kvs =
                          etcd.client()
                              .getKVClient()
                              .get(bytes("controllers/secure/m1"))
                              .get(5, TimeUnit.SECONDS)
                              .getKvs();
                      return kvs.isEmpty() ? "" : kvs.getFirst().getValue().toString();
                    } catch (Exception x) {
                      throw new IllegalStateException(x);
                    }
                  },
                  v -> !v.isEmpty());
          assertEquals("m1", parse(json).getId());
        }
        // The same CA trusted, no client certificate: etcd refuses.
        try (Etcd anonymous =
            Etcd.connect(
                new ClusterSettings(
                    c.endpoints(),
                    c.caFile(),
                    Optional.empty(),
                    Optional.empty(),
                    Duration.ofSeconds(2),
                    c.leaseTtl(),
                    c.area(),
                    "x",
                    Optional.empty(),
                    c.refreshInterval(),
                    c.prefix(),
                    false))) {
          org.junit.jupiter.api.Assertions.assertThrows(
              Exception.class,
              () ->
                  anonymous
                      .client()
                      .getKVClient()
                      .get(bytes("controllers/secure/m1"))
                      .get(5, TimeUnit.SECONDS));
        }
      } finally {
        app.close(); // before its etcd stops: a clean stop, not one waiting out timeouts
      }
    }
  }

  @Test
  void withoutTlsNothingIsRelayedToAManagerOffThisMachine() throws Exception {
    ClusterSettings c =
        ClusterSettings.none()
            .with(List.of(URI.create(etcd.endpoint())), "north", "z")
            .plaintextOnLoopback();
    try (Etcd e = Etcd.connect(c);
        EtcdStreams streams =
            new EtcdStreams(e, c, "z", java.util.Map::of, io.opsscaffold.time.Time.system());
        PeerRelay relay =
            new PeerRelay(
                streams,
                new io.opsscaffold.manager.identity.ManagerCredentials(
                    Optional.empty(), "z", java.time.Clock.systemUTC()),
                "z",
                new io.grpc.ClientInterceptor() {
                  @Override
                  public <Q, R> io.grpc.ClientCall<Q, R> interceptCall(
                      io.grpc.MethodDescriptor<Q, R> m,
                      io.grpc.CallOptions o,
                      io.grpc.Channel next) {
                    return next.newCall(m, o);
                  }
                })) {
      assertTrue(streams.start());
      // A claim naming a manager elsewhere (as anything that can write to etcd could write).
      client
          .getKVClient()
          .put(bytes("streams/north/n9"), bytes("far s1 http://10.1.2.3:8080"))
          .get(5, TimeUnit.SECONDS);
      Await.until(
          Duration.ofSeconds(5), "the claim seen", () -> streams.heldElsewhere("n9"), h -> h);
      var failure =
          org.junit.jupiter.api.Assertions.assertThrows(
              java.util.concurrent.ExecutionException.class,
              () ->
                  relay
                      .send(
                          "n9",
                          io.opsscaffold.api.link.v1.Command.getDefaultInstance(),
                          "a test",
                          Duration.ofSeconds(1))
                      .get(5, TimeUnit.SECONDS));
      assertTrue(
          failure.getCause().getMessage().contains("not relayed in plaintext"),
          failure.getCause().getMessage());
    }
  }

  @Test
  void plaintextToEtcdIsOnlyAskedForAndOnlyOnLoopback() {
    // Even asked for, never to another host.
    IllegalArgumentException e =
        org.junit.jupiter.api.Assertions.assertThrows(
            IllegalArgumentException.class,
            () ->
                Etcd.connect(
                    ClusterSettings.none()
                        .with(List.of(URI.create("http://10.1.2.3:2379")), "a", "m")
                        .plaintextOnLoopback()));
    assertTrue(e.getMessage().startsWith("etcd.endpoints: plaintext"), e.getMessage());
    // On loopback, not unless asked for.
    IllegalArgumentException notAsked =
        org.junit.jupiter.api.Assertions.assertThrows(
            IllegalArgumentException.class,
            () ->
                Etcd.connect(
                    ClusterSettings.none().with(List.of(URI.create(etcd.endpoint())), "a", "m")));
    assertTrue(notAsked.getMessage().contains("set etcd.insecure: true"), notAsked.getMessage());
    IllegalArgumentException noCa =
        org.junit.jupiter.api.Assertions.assertThrows(
            IllegalArgumentException.class,
            () ->
                Etcd.connect(
                    ClusterSettings.none()
                        .with(List.of(URI.create("https://10.1.2.3:2379")), "a", "m")));
    assertEquals("etcd.ca-file: is required with https:// etcd endpoints", noCa.getMessage());
  }

  @Test
  void aCleanStopWritesOfflineThenDeletesTheKey() throws Exception {
    ManagerApp app = manager("north", "m1");
    Await.until(
        Duration.ofSeconds(10),
        "the registration",
        () -> value("controllers/north/m1"),
        Optional::isPresent);
    List<WatchEvent> events = new CopyOnWriteArrayList<>();
    var watcher =
        client
            .getWatchClient()
            .watch(
                bytes("controllers/"),
                WatchOption.builder().isPrefix(true).build(),
                r -> events.addAll(r.getEvents()));
    closing.add(watcher::close);

    app.close();

    Await.until(
        Duration.ofSeconds(5),
        "a DELETE",
        () -> events.stream().map(WatchEvent::getEventType).toList(),
        t -> t.contains(WatchEvent.EventType.DELETE));
    WatchEvent delete = events.getLast();
    assertEquals(WatchEvent.EventType.DELETE, delete.getEventType());
    WatchEvent lastPut = events.get(events.size() - 2);
    assertEquals(WatchEvent.EventType.PUT, lastPut.getEventType());
    assertEquals("offline", parse(lastPut.getKeyValue().getValue().toString()).getStatus());
    assertTrue(value("controllers/north/m1").isEmpty());
    // It resigned the lead as well: nothing of it is left waiting for a lease to expire.
    assertEquals(
        0,
        client
            .getKVClient()
            .get(bytes("leaders/"), GetOption.builder().isPrefix(true).build())
            .get(5, TimeUnit.SECONDS)
            .getCount());
  }

  @Test
  void oneManagerLeadsEachAreaAndTheLeadMovesWhenItStops() throws Exception {
    ManagerApp a = manager("north", "a");
    ManagerApp b = manager("north", "b");
    ManagerApp other = manager("south", "c");

    Await.until(
        Duration.ofSeconds(10), "a leader in north", () -> a.leader() || b.leader(), l -> l);
    Await.holds(Duration.ofSeconds(2), "one leader in north", () -> a.leader() != b.leader());
    Await.until(Duration.ofSeconds(10), "the leader of south", other::leader, l -> l);

    ManagerApp leader = a.leader() ? a : b;
    ManagerApp follower = leader == a ? b : a;
    String leaderId = leader == a ? "a" : "b";
    List<KeyValue> campaigners =
        client
            .getKVClient()
            .get(bytes("leaders/north"), GetOption.builder().isPrefix(true).build())
            .get(5, TimeUnit.SECONDS)
            .getKvs();
    // etcd's election: the oldest campaigner holds it.
    KeyValue oldest =
        campaigners.stream()
            .min(java.util.Comparator.comparingLong(KeyValue::getCreateRevision))
            .orElseThrow();
    assertEquals(leaderId, oldest.getValue().toString());
    assertEquals(
        "true",
        parse(value("controllers/north/" + leaderId).orElseThrow()).getMetadataMap().get("leader"));

    long closedAt = System.nanoTime();
    leader.close();
    Await.until(Duration.ofSeconds(5), "the follower leading", follower::leader, l -> l);
    long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - closedAt);
    // A clean stop resigns: the other manager leads without waiting out the lease (2 s here).
    assertTrue(tookMs < 2000, "the lead moved after " + tookMs + " ms");
    assertFalse(leader.leader());
  }
}
