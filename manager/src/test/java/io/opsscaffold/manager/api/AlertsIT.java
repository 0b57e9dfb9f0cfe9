package io.opsscaffold.manager.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.util.Durations;
import com.google.protobuf.util.JsonFormat;
import com.google.protobuf.util.Timestamps;
import com.sun.net.httpserver.HttpServer;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.opsscaffold.api.fleet.v1.Alert;
import io.opsscaffold.api.fleet.v1.AlertEvent;
import io.opsscaffold.api.fleet.v1.ListAlertsResponse;
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
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** Alerts opened, repeated and resolved by real state changes on a manager on PostgreSQL. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AlertsIT {
  private TestDatabases.Created pg;
  private Telemetry telemetry;
  private ManagerApp manager;
  private java.nio.file.Path data;
  private ManagedChannel channel;
  private HttpServer hook;
  private final List<String> delivered = new CopyOnWriteArrayList<>();
  private final AtomicInteger hookCalls = new AtomicInteger();
  private final HttpClient http = HttpClient.newHttpClient();

  @BeforeAll
  void start() throws Exception {
    hook = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 8);
    hook.createContext(
        "/hook",
        ex -> {
          try (ex;
              InputStream in = ex.getRequestBody()) {
            String body = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            if (hookCalls.incrementAndGet() == 1) {
              ex.sendResponseHeaders(500, -1); // the first delivery fails: it must be retried
              return;
            }
            delivered.add(body);
            ex.sendResponseHeaders(204, -1);
          }
        });
    hook.start();
    pg = TestDatabases.postgres();
    telemetry = Telemetry.start(new TelemetryPolicy("test", Optional.empty(), Optional.of("none")));
    manager =
        ManagerApp.start(
            new ManagerSettings(
                "127.0.0.1",
                0,
                pg.settings(data = Files.createTempDirectory("m")),
                Duration.ofSeconds(5),
                Duration.ofMillis(300),
                Duration.ofSeconds(5),
                Optional.empty(),
                Duration.ofMillis(200),
                Optional.of(
                    URI.create("http://127.0.0.1:" + hook.getAddress().getPort() + "/hook")),
                io.opsscaffold.manager.tls.TlsPolicy.insecure(data)),
            telemetry);
    channel = NettyChannelBuilder.forAddress("127.0.0.1", manager.port()).usePlaintext().build();
  }

  @AfterAll
  void stop() throws Exception {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    manager.close();
    telemetry.close();
    pg.close();
    hook.stop(0);
  }

  private static AgentState agent(String id, Lifecycle lifecycle, String message) {
    return AgentState.newBuilder()
        .setAgentId(id)
        .setType("t")
        .setLifecycle(lifecycle)
        .setPid(lifecycle == Lifecycle.LIFECYCLE_RUNNING ? 42 : 0)
        .setMessage(message)
        .build();
  }

  private ListAlertsResponse alerts(String query) {
    try {
      HttpResponse<String> res =
          http.send(
              HttpRequest.newBuilder(
                      URI.create("http://127.0.0.1:" + manager.port() + "/api/v1/alerts" + query))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertEquals(200, res.statusCode(), res.body());
      ListAlertsResponse.Builder b = ListAlertsResponse.newBuilder();
      JsonFormat.parser().merge(res.body(), b);
      return b.build();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private Alert only(String query) {
    ListAlertsResponse r = alerts(query);
    if (r.getAlertsCount() != 1) {
      throw new IllegalStateException(
          "expected one alert for " + query + ", got " + r.getAlertsList());
    }
    return r.getAlerts(0);
  }

  @Test
  void transitionsOpenRepeatAndResolveAlertsAndReachWatchersAndTheWebhook() throws Exception {
    HttpResponse<Stream<String>> watch =
        http.send(
            HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + manager.port() + "/api/v1/alerts/watch"))
                .build(),
            HttpResponse.BodyHandlers.ofLines());
    Iterator<String> events = watch.body().iterator();

    FakeDaemon d =
        new FakeDaemon(
                channel,
                Hello.newBuilder()
                    .setNodeId("al1")
                    .setLabels(NodeLabels.newBuilder().setArea("north")))
            .hello()
            .keepAlive();
    d.fullState(agent("a", Lifecycle.LIFECYCLE_RUNNING, "running"));
    d.next(ManagerMessage.BodyCase.ACK);
    Await.holds(
        Duration.ofMillis(500),
        "no alert for an agent that is ON",
        () -> alerts("?nodeId=al1").getTotal() == 0);

    d.delta(agent("a", Lifecycle.LIFECYCLE_STOPPED, "stopped (exited with code 0)"));
    Alert opened =
        Await.until(
            Duration.ofSeconds(5),
            "an OFF alert",
            () -> only("?nodeId=al1&state=open"),
            a -> a.getKind().equals("OFF"));
    assertEquals("stopped (exited with code 0)", opened.getReason());
    assertEquals("north", opened.getArea());
    assertEquals(1, opened.getCount());

    d.delta(agent("a", Lifecycle.LIFECYCLE_CRASH_LOOP, "exited with code 3; crash loop"));
    Alert repeated =
        Await.until(
            Duration.ofSeconds(5),
            "the alert to count the repeat",
            () -> only("?nodeId=al1&state=open"),
            a -> a.getCount() == 2);
    assertEquals("CRASH_LOOP", repeated.getKind());
    assertEquals(opened.getAlertId(), repeated.getAlertId(), "counted, not duplicated");

    d.delta(agent("a", Lifecycle.LIFECYCLE_RUNNING, "running"));
    Alert resolved =
        Await.until(
            Duration.ofSeconds(5),
            "the alert to resolve",
            () -> only("?nodeId=al1"),
            Alert::hasResolvedAt);
    assertEquals(0, alerts("?nodeId=al1&state=open").getTotal());
    assertEquals(1, alerts("?nodeId=al1&state=resolved&kind=CRASH_LOOP").getTotal());
    assertEquals(resolved.getAlertId(), opened.getAlertId());

    for (String change : List.of("SYNCED", "OPENED", "REPEATED", "RESOLVED")) {
      AlertEvent.Builder e = AlertEvent.newBuilder();
      JsonFormat.parser().merge(events.next(), e);
      assertEquals(change, e.getChange());
      assertEquals(change.equals("SYNCED") ? "" : "al1", e.getAlert().getNodeId());
    }
    watch.body().close();

    Await.until(
        Duration.ofSeconds(15),
        "the webhook to receive all three events (one retried)",
        () -> delivered.size(),
        n -> n >= 3);
    assertTrue(delivered.get(0).contains("\"change\":\"OPENED\""), delivered.get(0));
    assertTrue(hookCalls.get() >= 4, "the failed first delivery was retried");

    d.out.onCompleted(); // the daemon goes away: after the grace its agents are UNKNOWN
    Alert unknown =
        Await.until(
            Duration.ofSeconds(5),
            "an UNKNOWN alert",
            () -> only("?nodeId=al1&state=open"),
            a -> a.getKind().equals("UNKNOWN"));
    assertEquals("node al1 is offline", unknown.getReason());
  }

  @Test
  void aStaleHeartbeatOpensNoDataByTimeAloneAndAnAgentLeftOutOfAFullStateIsNotExist()
      throws Exception {
    FakeDaemon d =
        new FakeDaemon(
                channel,
                Hello.newBuilder()
                    .setNodeId("al2")
                    .setLabels(NodeLabels.newBuilder().setArea("south")))
            .hello()
            .keepAlive();
    long sent = System.currentTimeMillis();
    AgentState beating =
        agent("hb", Lifecycle.LIFECYCLE_RUNNING, "running").toBuilder()
            .setLastHeartbeat(Timestamps.fromMillis(sent))
            .setHeartbeatTimeout(Durations.fromMillis(800))
            .build();
    d.fullState(beating, agent("other", Lifecycle.LIFECYCLE_RUNNING, "running"));
    d.next(ManagerMessage.BodyCase.ACK);
    assertEquals(
        0, alerts("?nodeId=al2").getTotal(), "both agents are ON while the heartbeat is fresh");

    // Nothing else is sent: only the passing of time makes the heartbeat stale.
    Alert stale =
        Await.until(
            Duration.ofSeconds(5),
            "a NO_DATA alert for the silent agent",
            () -> only("?nodeId=al2&state=open"),
            a -> a.getKind().equals("NO_DATA"));
    assertEquals("hb", stale.getAgentId());
    assertTrue(System.currentTimeMillis() - sent >= 800, "not before the timeout ran out");
    assertEquals("south", stale.getArea());

    // A new heartbeat resolves it; an agent missing from the next FullState is NOT_EXIST.
    d.fullState(
        beating.toBuilder()
            .setLastHeartbeat(Timestamps.fromMillis(System.currentTimeMillis()))
            .setHeartbeatTimeout(Durations.fromSeconds(60))
            .build());
    d.next(ManagerMessage.BodyCase.ACK);
    Alert gone =
        Await.until(
            Duration.ofSeconds(5),
            "a NOT_EXIST alert for the agent left out",
            () -> only("?nodeId=al2&state=open"),
            a -> a.getKind().equals("NOT_EXIST"));
    assertEquals("other", gone.getAgentId());
    assertEquals(
        1,
        alerts("?nodeId=al2&state=resolved&kind=NO_DATA").getTotal(),
        "the stale heartbeat resolved");
  }

  @Test
  void badFiltersAreRefused() throws Exception {
    HttpResponse<String> res =
        http.send(
            HttpRequest.newBuilder(
                    URI.create(
                        "http://127.0.0.1:" + manager.port() + "/api/v1/alerts?state=burning"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(400, res.statusCode());
    assertTrue(res.body().contains("state must be open or resolved"), res.body());
  }
}
