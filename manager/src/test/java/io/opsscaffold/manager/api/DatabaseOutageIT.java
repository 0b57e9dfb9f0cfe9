package io.opsscaffold.manager.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.opsscaffold.api.link.v1.AgentState;
import io.opsscaffold.api.link.v1.ManagerMessage;
import io.opsscaffold.api.status.v1.Lifecycle;
import io.opsscaffold.manager.ManagerApp;
import io.opsscaffold.manager.ManagerSettings;
import io.opsscaffold.manager.link.FakeDaemon;
import io.opsscaffold.manager.persistence.DatabaseSettings;
import io.opsscaffold.manager.persistence.TestDatabases;
import io.opsscaffold.observability.Telemetry;
import io.opsscaffold.observability.TelemetryPolicy;
import io.opsscaffold.testing.Await;
import io.opsscaffold.testing.TcpProxy;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * PostgreSQL going away behind a proxy the test controls: API calls are answered 503 UNAVAILABLE
 * with Retry-After, saying the database is not reachable, instead of hanging for half a minute and
 * ending in a 500; once it is back, the same calls succeed. The daemons' link stays up throughout,
 * and what they send is acknowledged only once it is committed.
 */
class DatabaseOutageIT {
  private TestDatabases.Created pg;
  private TcpProxy proxy;
  private Telemetry telemetry;
  private ManagerApp manager;
  private final HttpClient http = HttpClient.newHttpClient();

  @BeforeEach
  void start() throws Exception {
    pg = TestDatabases.postgres();
    URI base = URI.create(pg.url().substring("jdbc:".length()));
    proxy = new TcpProxy(base.getHost(), base.getPort());
    String viaProxy =
        pg.url().replace(base.getHost() + ":" + base.getPort(), "127.0.0.1:" + proxy.port());
    telemetry = Telemetry.start(new TelemetryPolicy("test", Optional.empty(), Optional.of("none")));
    manager =
        ManagerApp.start(
            new ManagerSettings(
                "127.0.0.1",
                0,
                new DatabaseSettings(
                    Optional.of(viaProxy),
                    pg.user(),
                    "",
                    4,
                    Files.createTempDirectory("m"),
                    Duration.ofSeconds(2)),
                Duration.ofSeconds(5),
                Duration.ofSeconds(30),
                Duration.ofSeconds(5),
                Optional.empty()),
            telemetry);
  }

  @AfterEach
  void stop() throws Exception {
    manager.close();
    telemetry.close();
    proxy.close();
    pg.close();
  }

  private HttpResponse<String> nodes() throws Exception {
    return nodes("/api/v1/nodes");
  }

  private HttpResponse<String> nodes(String path) throws Exception {
    // A client that gives up after 10 s: the 30 s hang this test guards against fails it.
    return http.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + manager.port() + path))
            .timeout(Duration.ofSeconds(10))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void callsWhileTheDatabaseIsAwayAreAnsweredUnavailableAndSucceedOnceItIsBack() throws Exception {
    assertEquals(200, nodes().statusCode());
    proxy.cut();
    long askedAt = System.nanoTime();
    HttpResponse<String> down = nodes();
    System.out.printf(
        "drill database-outage: API answered %d in %d ms while the database was away%n",
        down.statusCode(), (System.nanoTime() - askedAt) / 1_000_000);
    assertEquals(503, down.statusCode(), down.body());
    assertEquals(Optional.of("2"), down.headers().firstValue("Retry-After"));
    assertTrue(down.body().contains("\"status\":\"UNAVAILABLE\""), down.body());
    assertTrue(down.body().contains("the database is not reachable right now"), down.body());
    assertTrue(
        !down.body().contains("Exception") && !down.body().contains("jdbc:"),
        "no internals: " + down.body());
    proxy.restore();
    Await.until(
        Duration.ofSeconds(30),
        "the API to answer again",
        () -> {
          try {
            return nodes().statusCode();
          } catch (Exception e) {
            throw new IllegalStateException(e);
          }
        },
        code -> code == 200);
  }

  private static AgentState running(String message) {
    return AgentState.newBuilder()
        .setAgentId("a1")
        .setType("t")
        .setLifecycle(Lifecycle.LIFECYCLE_RUNNING)
        .setPid(7)
        .setMessage(message)
        .build();
  }

  @Test
  void theLinkStaysUpThroughTheOutageAndADeltaIsAcknowledgedOnlyOnceCommitted() throws Exception {
    ManagedChannel channel =
        NettyChannelBuilder.forAddress("127.0.0.1", manager.port()).usePlaintext().build();
    try {
      FakeDaemon d = new FakeDaemon(channel, "db-out").hello().keepAlive();
      d.fullState(running("before"));
      d.next(ManagerMessage.BodyCase.ACK);

      proxy.cut();
      long seq = d.delta(running("during the outage"));
      // Pongs keep coming (pings never wait on the database); the delta is not acknowledged, so
      // the daemon keeps it to send again should the stream end.
      int pongs = 0;
      while (pongs < 15) {
        ManagerMessage m = d.next();
        if (m.getBodyCase() == ManagerMessage.BodyCase.PONG) {
          pongs++;
        }
        assertTrue(
            m.getBodyCase() != ManagerMessage.BodyCase.ACK || m.getAck().getSeq() < seq,
            "acknowledged before it could be committed: " + m);
      }
      assertFalse(d.ended.isDone(), "the link stayed up: " + d.ended.getNow(null));

      proxy.restore();
      long restoredAt = System.nanoTime();
      Await.until(
          Duration.ofSeconds(30),
          "the delta acknowledged after the database came back",
          () -> {
            try {
              return d.next(ManagerMessage.BodyCase.ACK).getAck().getSeq();
            } catch (InterruptedException e) {
              throw new IllegalStateException(e);
            }
          },
          acked -> acked >= seq);
      System.out.printf(
          "drill database-outage: link up throughout (%d pongs while away), delta acknowledged"
              + " %d ms after the database returned%n",
          pongs, (System.nanoTime() - restoredAt) / 1_000_000);
      String agents = nodes("/api/v1/nodes/db-out/agents").body();
      assertTrue(agents.contains("during the outage"), agents);
      assertFalse(d.ended.isDone(), "the link stayed up: " + d.ended.getNow(null));
      d.out.onCompleted();
    } finally {
      channel.shutdownNow();
    }
  }
}
