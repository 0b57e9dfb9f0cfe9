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
                new ManagerSettings.Limits(64 * 1024, 2)),
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
