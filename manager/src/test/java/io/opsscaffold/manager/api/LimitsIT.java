package io.opsscaffold.manager.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.opsscaffold.api.link.v1.AgentState;
import io.opsscaffold.api.status.v1.Lifecycle;
import io.opsscaffold.manager.ManagerApp;
import io.opsscaffold.manager.ManagerSettings;
import io.opsscaffold.manager.link.FakeDaemon;
import io.opsscaffold.manager.persistence.DatabaseSettings;
import io.opsscaffold.manager.persistence.TestDatabases;
import io.opsscaffold.manager.tls.TlsPolicy;
import io.opsscaffold.observability.Telemetry;
import io.opsscaffold.observability.TelemetryPolicy;
import io.opsscaffold.testing.Await;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** Sizes a client controls are bounded: a 4xx naming the limit, and the manager stays up. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LimitsIT {
  private Telemetry telemetry;
  private ManagerApp manager;
  private ManagedChannel channel;
  private final HttpClient http = HttpClient.newHttpClient();

  @BeforeAll
  void start() throws Exception {
    telemetry = Telemetry.start(new TelemetryPolicy("test", Optional.empty(), Optional.of("none")));
    DatabaseSettings db = TestDatabases.h2();
    manager =
        ManagerApp.start(
            new ManagerSettings(
                "127.0.0.1",
                0,
                db,
                Duration.ofSeconds(5),
                Duration.ofSeconds(30),
                Duration.ofSeconds(5),
                Optional.empty(),
                Duration.ofSeconds(1),
                Optional.empty(),
                TlsPolicy.insecure(db.dataDir()),
                new ManagerSettings.Limits(64 * 1024, 2, 2)),
            telemetry);
    channel = NettyChannelBuilder.forAddress("127.0.0.1", manager.port()).usePlaintext().build();
    FakeDaemon d = new FakeDaemon(channel, "l1").hello().keepAlive();
    d.fullState(agent("a1"), agent("a2"), agent("a3"));
    Await.until(
        Duration.ofSeconds(10),
        "three agents listed",
        () -> post("/api/v1/availability/summary", "{}").body(),
        b -> b.contains("\"overall\""));
  }

  private static AgentState agent(String id) {
    return AgentState.newBuilder()
        .setAgentId(id)
        .setLifecycle(Lifecycle.LIFECYCLE_RUNNING)
        .setPid(7)
        .build();
  }

  @AfterAll
  void stop() {
    channel.shutdownNow();
    manager.close();
    telemetry.close();
  }

  private HttpResponse<String> post(String path, String body) {
    try {
      return http.send(
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + manager.port() + path))
              .header("Content-Type", "application/json")
              .POST(HttpRequest.BodyPublishers.ofString(body))
              .build(),
          HttpResponse.BodyHandlers.ofString());
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private void stillUp() {
    assertEquals(200, post("/api/v1/availability/summary", "{}").statusCode(), "still serving");
  }

  @Test
  void aCredentialHoldsAtMostItsShareOfWatchesAndClosingOneFreesIt() throws Exception {
    var stub = io.opsscaffold.api.fleet.v1.FleetServiceGrpc.newStub(channel);
    java.util.List<io.grpc.Context.CancellableContext> watches = new java.util.ArrayList<>();
    java.util.concurrent.LinkedBlockingQueue<io.grpc.Status> ends =
        new java.util.concurrent.LinkedBlockingQueue<>();
    java.util.concurrent.CountDownLatch synced = new java.util.concurrent.CountDownLatch(2);
    Runnable open =
        () -> {
          io.grpc.Context.CancellableContext ctx = io.grpc.Context.current().withCancellation();
          watches.add(ctx);
          ctx.run(
              () ->
                  stub.watchAgents(
                      io.opsscaffold.api.fleet.v1.WatchAgentsRequest.getDefaultInstance(),
                      new io.grpc.stub.StreamObserver<>() {
                        @Override
                        public void onNext(io.opsscaffold.api.fleet.v1.AgentEvent e) {
                          if (e.getChange().equals("SYNCED")) {
                            synced.countDown();
                          }
                        }

                        @Override
                        public void onError(Throwable t) {
                          ends.add(io.grpc.Status.fromThrowable(t));
                        }

                        @Override
                        public void onCompleted() {
                          ends.add(io.grpc.Status.OK);
                        }
                      }));
        };
    open.run();
    open.run();
    assertTrue(synced.await(10, java.util.concurrent.TimeUnit.SECONDS), "two watches open");
    open.run(); // the third, over the limit of 2
    io.grpc.Status third = ends.poll(10, java.util.concurrent.TimeUnit.SECONDS);
    assertEquals(io.grpc.Status.Code.RESOURCE_EXHAUSTED, third.getCode(), String.valueOf(third));
    assertTrue(
        third.getDescription().contains("limits.max-streams-per-token"), third.getDescription());
    // Over HTTP the same credential meets the same count.
    HttpResponse<String> followed =
        http.send(
            HttpRequest.newBuilder(
                    URI.create(
                        "http://127.0.0.1:"
                            + manager.port()
                            + "/api/v1/nodes/l1/agents/a1/logs/follow"))
                .timeout(Duration.ofSeconds(5))
                .GET()
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(429, followed.statusCode(), followed.body());
    watches.get(0).cancel(null);
    assertEquals(
        io.grpc.Status.Code.CANCELLED,
        ends.poll(10, java.util.concurrent.TimeUnit.SECONDS).getCode(),
        "the first watch ended");
    Await.until(
        Duration.ofSeconds(10),
        "the cancelled watch to free its place",
        () -> {
          open.run();
          io.grpc.Status s;
          try {
            s = ends.poll(2, java.util.concurrent.TimeUnit.SECONDS);
          } catch (InterruptedException e) {
            throw new IllegalStateException(e);
          }
          return s == null ? "open" : s.getCode().toString();
        },
        s -> s.equals("open"));
    watches.forEach(c -> c.cancel(null));
    stillUp();
  }

  @Test
  void anOversizedBodyOverHttp2IsRefusedToo() throws Exception {
    // Helidon's payload limit holds for HTTP/1.1 only; the transcoder holds it for HTTP/2.
    HttpClient h2 = HttpClient.newBuilder().version(HttpClient.Version.HTTP_2).build();
    URI summary = URI.create("http://127.0.0.1:" + manager.port() + "/api/v1/availability/summary");
    HttpResponse<String> upgraded =
        h2.send(
            HttpRequest.newBuilder(summary).GET().build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(HttpClient.Version.HTTP_2, upgraded.version(), "the connection speaks h2");
    for (boolean declared : new boolean[] {true, false}) {
      byte[] huge = ("{\"description\":\"" + "x".repeat(200 * 1024) + "\"}").getBytes();
      HttpRequest.BodyPublisher body =
          declared
              ? HttpRequest.BodyPublishers.ofByteArray(huge)
              : HttpRequest.BodyPublishers.ofInputStream(
                  () -> new java.io.ByteArrayInputStream(huge));
      HttpResponse<String> res =
          h2.send(
              HttpRequest.newBuilder(
                      URI.create(
                          "http://127.0.0.1:" + manager.port() + "/api/v1/agents/batch/restart"))
                  .header("Content-Type", "application/json")
                  .POST(body)
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertEquals(HttpClient.Version.HTTP_2, res.version());
      assertEquals(413, res.statusCode(), res.body());
      assertTrue(res.body().contains("limits.max-request-bytes"), res.body());
    }
    stillUp();
  }

  @Test
  void anOversizedBodyIsRefusedUnread() throws Exception {
    String huge = "{\"description\":\"" + "x".repeat(200 * 1024) + "\"}";
    // Expect: 100-continue, as careful clients send large bodies: the manager refuses on the
    // declared length before a byte of the body is sent. (Without it the client may still be
    // writing when the refused connection closes, and sees the close instead of the 413.)
    HttpResponse<String> res =
        http.send(
            HttpRequest.newBuilder(
                    URI.create(
                        "http://127.0.0.1:" + manager.port() + "/api/v1/agents/batch/restart"))
                .header("Content-Type", "application/json")
                .expectContinue(true)
                .POST(HttpRequest.BodyPublishers.ofString(huge))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(413, res.statusCode(), res.body());
    stillUp();
  }

  @Test
  void deeplyNestedJsonIsABadRequest() {
    String deep = "{\"targets\":" + "[".repeat(2000) + "]".repeat(2000) + "}";
    HttpResponse<String> res = post("/api/v1/agents/batch/restart", deep);
    assertEquals(400, res.statusCode(), res.body());
    assertFalse(res.body().contains("Exception"), "no Java class in the answer: " + res.body());
    stillUp();
  }

  @Test
  void aBatchBeyondTheTargetLimitIsRefusedNamingIt() {
    HttpResponse<String> res =
        post("/api/v1/agents/batch/restart", "{\"selector\":{\"nodeId\":\"l1\"}}");
    assertEquals(429, res.statusCode(), res.body());
    assertTrue(res.body().contains("limits.max-batch-targets"), res.body());
    stillUp();
  }
}
