package io.opsscaffold.manager.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.util.JsonFormat;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.opsscaffold.api.fleet.v1.AgentEvent;
import io.opsscaffold.api.fleet.v1.FleetServiceGrpc;
import io.opsscaffold.api.fleet.v1.WatchAgentsRequest;
import io.opsscaffold.api.link.v1.AgentState;
import io.opsscaffold.api.link.v1.Hello;
import io.opsscaffold.api.link.v1.ManagerMessage;
import io.opsscaffold.api.link.v1.NodeLabels;
import io.opsscaffold.api.status.v1.Lifecycle;
import io.opsscaffold.manager.link.FakeDaemon;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Iterator;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** WatchAgents over HTTP (NDJSON) and gRPC, fed by real commits on PostgreSQL. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WatchAgentsIT {
  private TestManager manager;
  private ManagedChannel channel;
  private final HttpClient http = HttpClient.newHttpClient();

  @BeforeAll
  void start() throws Exception {
    manager = TestManager.start();
    channel = manager.channel;
  }

  @AfterAll
  void stop() throws Exception {
    manager.close();
  }

  private FakeDaemon daemon(String id, String area, AgentState... agents)
      throws InterruptedException {
    FakeDaemon d =
        new FakeDaemon(
                channel,
                Hello.newBuilder()
                    .setNodeId(id)
                    .setHostname("host-" + id)
                    .setLabels(NodeLabels.newBuilder().setArea(area)))
            .hello()
            .keepAlive();
    d.fullState(agents);
    d.next(ManagerMessage.BodyCase.ACK);
    return d;
  }

  private static AgentState agent(String id, Lifecycle lifecycle) {
    return AgentState.newBuilder()
        .setAgentId(id)
        .setType("t")
        .setLifecycle(lifecycle)
        .setPid(lifecycle == Lifecycle.LIFECYCLE_RUNNING ? 7 : 0)
        .build();
  }

  private static AgentEvent parse(String line) {
    try {
      AgentEvent.Builder b = AgentEvent.newBuilder();
      JsonFormat.parser().merge(line, b);
      return b.build();
    } catch (Exception e) {
      throw new AssertionError("not an AgentEvent: " + line, e);
    }
  }

  private static String describe(AgentEvent e) {
    return e.getChange()
        + (e.hasAgent()
            ? " "
                + e.getAgent().getNodeId()
                + "/"
                + e.getAgent().getAgentId()
                + " "
                + e.getAgent().getAvailabilityName()
            : "");
  }

  @Test
  void httpWatchSendsTheSnapshotThenCommittedChangesOfItsAreaAndRemovals() throws Exception {
    FakeDaemon east =
        daemon(
            "w-east",
            "east",
            agent("a1", Lifecycle.LIFECYCLE_RUNNING),
            agent("a2", Lifecycle.LIFECYCLE_STOPPED));
    FakeDaemon west = daemon("w-west", "west", agent("b1", Lifecycle.LIFECYCLE_RUNNING));

    HttpResponse<Stream<String>> res =
        http.send(
            HttpRequest.newBuilder(
                    URI.create(
                        "http://127.0.0.1:" + manager.port() + "/api/v1/agents/watch?area=east"))
                .build(),
            HttpResponse.BodyHandlers.ofLines());
    assertEquals(200, res.statusCode());
    assertTrue(
        res.headers().firstValue("content-type").orElse("").contains("ndjson"),
        res.headers().toString());
    Iterator<String> lines = res.body().iterator();
    assertEquals("EXISTING w-east/a1 ON", describe(parse(lines.next())));
    assertEquals("EXISTING w-east/a2 OFF", describe(parse(lines.next())));
    assertEquals("SYNCED", describe(parse(lines.next())));

    west.delta(agent("b1", Lifecycle.LIFECYCLE_STOPPED)); // another area: not sent
    east.delta(agent("a1", Lifecycle.LIFECYCLE_CRASH_LOOP));
    AgentEvent crashed = parse(lines.next());
    assertEquals("UPDATED w-east/a1 OFF", describe(crashed));
    assertEquals(
        io.opsscaffold.api.status.v1.Lifecycle.LIFECYCLE_CRASH_LOOP,
        crashed.getAgent().getLifecycle());
    assertTrue(crashed.getAgent().hasUpdatedAt(), "events carry the committed state");

    east.fullState(agent("a1", Lifecycle.LIFECYCLE_RUNNING)); // a2 is no longer configured
    assertEquals("REMOVED w-east/a2 NOT_EXIST", describe(parse(lines.next())));
    assertEquals("UPDATED w-east/a1 ON", describe(parse(lines.next())));
    res.body().close();
    east.out.onCompleted();
    west.out.onCompleted();
  }

  @Test
  void grpcWatchFiltersByAvailabilityAndReportsAgentsLeavingTheFilter() throws Exception {
    FakeDaemon d =
        daemon(
            "w-avail",
            "north",
            agent("x", Lifecycle.LIFECYCLE_RUNNING),
            agent("y", Lifecycle.LIFECYCLE_STOPPED));
    var it =
        FleetServiceGrpc.newBlockingStub(channel)
            .watchAgents(
                WatchAgentsRequest.newBuilder().setNodeId("w-avail").setStatus("ON").build());
    assertEquals("EXISTING w-avail/x ON", describe(it.next()));
    assertEquals("SYNCED", describe(it.next()));

    d.delta(agent("x", Lifecycle.LIFECYCLE_STOPPED));
    assertEquals("REMOVED w-avail/x OFF", describe(it.next()), "x left the ON filter");
    d.delta(agent("y", Lifecycle.LIFECYCLE_RUNNING));
    assertEquals("UPDATED w-avail/y ON", describe(it.next()));

    d.out.onCompleted(); // after the 300 ms grace the node is OFFLINE: y reads UNKNOWN, leaves the
    // filter
    assertEquals("REMOVED w-avail/y UNKNOWN", describe(it.next()));
  }

  @Test
  void aBadAvailabilityFilterIsRejectedNamingTheField() throws Exception {
    HttpResponse<String> res =
        http.send(
            HttpRequest.newBuilder(
                    URI.create(
                        "http://127.0.0.1:"
                            + manager.port()
                            + "/api/v1/agents/watch?status=SOMETIMES"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(400, res.statusCode(), res.body());
    assertTrue(res.body().contains("status must be one of"), res.body());
  }

  @Test
  void aWatcherThatDoesNotReadIsDroppedWithoutSlowingTheStatePath() throws Exception {
    FakeDaemon d = daemon("w-slow", "south", agent("s", Lifecycle.LIFECYCLE_RUNNING));
    // A fixed 64 KiB window: with grpc-java's default auto-tuning the client's transport could
    // grow its window to megabytes and absorb every event unread, so the manager would never see
    // this watcher fall behind.
    ManagedChannel slow =
        NettyChannelBuilder.forAddress("127.0.0.1", manager.port())
            .usePlaintext()
            .flowControlWindow(64 * 1024)
            .build();
    ClientCall<WatchAgentsRequest, AgentEvent> call =
        slow.newCall(FleetServiceGrpc.getWatchAgentsMethod(), CallOptions.DEFAULT);
    CompletableFuture<Status> closed = new CompletableFuture<>();
    BlockingQueue<AgentEvent> got = new LinkedBlockingQueue<>();
    call.start(
        new ClientCall.Listener<>() {
          @Override
          public void onMessage(AgentEvent message) {
            got.add(message);
          }

          @Override
          public void onClose(Status status, Metadata trailers) {
            closed.complete(status);
          }
        },
        new Metadata());
    call.sendMessage(WatchAgentsRequest.newBuilder().setNodeId("w-slow").build());
    call.halfClose();
    call.request(2); // the snapshot, then nothing more: this client stops reading
    assertEquals("EXISTING w-slow/s ON", describe(got.poll(5, TimeUnit.SECONDS)));
    assertEquals("SYNCED", describe(got.poll(5, TimeUnit.SECONDS)));

    // Each delta names a new agent, so the writer's coalescing of one agent's changes within a
    // batch cannot shrink them: 12,000 events (about 3 MB) are far more than the watcher's queue
    // and the transport's windows hold.
    long last = 0;
    for (int i = 0; i < 12_000; i++) {
      last =
          d.delta(
              agent("s-" + i, Lifecycle.LIFECYCLE_RUNNING).toBuilder()
                  .setMessage("change " + i + " " + "x".repeat(200))
                  .build());
    }
    // The state path kept going: the last delta is acknowledged although the watcher reads nothing.
    long acked = 0;
    while (acked < last) {
      acked = d.next(ManagerMessage.BodyCase.ACK).getAck().getSeq();
    }
    call.request(Integer.MAX_VALUE); // read what is left: the stream ends with RESOURCE_EXHAUSTED
    Status status = closed.get(20, TimeUnit.SECONDS);
    assertEquals(Status.Code.RESOURCE_EXHAUSTED, status.getCode(), status.toString());
    assertTrue(status.getDescription().contains("behind"), status.getDescription());
    assertTrue(
        got.size() < 12_000,
        "the watcher did not get every change: it was dropped (" + got.size() + ")");
    d.out.onCompleted();
    slow.shutdownNow();
  }
}
