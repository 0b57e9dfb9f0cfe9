package io.opsscaffold.manager.link;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.opsscaffold.api.fleet.v1.Connectivity;
import io.opsscaffold.api.fleet.v1.FleetServiceGrpc;
import io.opsscaffold.api.fleet.v1.GetNodeRequest;
import io.opsscaffold.manager.ManagerApp;
import io.opsscaffold.manager.ManagerSettings;
import io.opsscaffold.manager.persistence.TestDatabases;
import io.opsscaffold.observability.Telemetry;
import io.opsscaffold.observability.TelemetryPolicy;
import io.opsscaffold.testing.Await;
import io.opsscaffold.testing.ManualTime;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The offline grace on a manager whose time is manual: a node goes OFFLINE exactly one grace after
 * its latest stream end, and not before. Where a timer runs and must decide to do nothing, a
 * witness node whose stream ended at the same moment has its timer armed right after it; the
 * connectivity thread and the state writer keep that order, so once the witness reads OFFLINE the
 * node's own timer has been acted on, and its ONLINE is an answer, not a race.
 */
class OfflineGraceTest {
  private static final Duration GRACE = Duration.ofSeconds(30);
  private static final AtomicInteger NODES = new AtomicInteger();
  private static final ManualTime TIME = new ManualTime();
  private static ManagerApp manager;
  private static Telemetry telemetry;
  private static ManagedChannel channel;
  private static FleetServiceGrpc.FleetServiceBlockingStub fleet;

  /** Timers always armed on this manager: the silence check and the alert scan. */
  private static int standing;

  @BeforeAll
  static void start() {
    telemetry = Telemetry.start(new TelemetryPolicy("test", Optional.empty(), Optional.of("none")));
    // A ping interval far beyond what the test advances: no stream is dropped for silence.
    manager =
        ManagerApp.start(
            new ManagerSettings(
                "127.0.0.1",
                0,
                TestDatabases.h2(),
                Duration.ofMinutes(10),
                GRACE,
                Duration.ofSeconds(2),
                Optional.empty()),
            telemetry,
            TIME);
    channel = NettyChannelBuilder.forAddress("127.0.0.1", manager.port()).usePlaintext().build();
    fleet = FleetServiceGrpc.newBlockingStub(channel);
    standing = 2;
    TIME.awaitTimers(standing);
  }

  @AfterAll
  static void stop() throws InterruptedException {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    manager.close();
    telemetry.close();
  }

  private static String newNode() {
    return "grace-test-" + NODES.incrementAndGet();
  }

  private static Connectivity connectivity(String node) {
    return fleet.getNode(GetNodeRequest.newBuilder().setNodeId(node).build()).getConnectivity();
  }

  private static void await(String node, Connectivity c) {
    Await.until(
        Duration.ofSeconds(5),
        "node " + node + " to read " + c,
        () -> connectivity(node),
        c::equals);
  }

  /** Connects {@code node} and waits until it reads ONLINE. */
  private static FakeDaemon connect(String node) throws InterruptedException {
    FakeDaemon d = new FakeDaemon(channel, node).hello();
    await(node, Connectivity.CONNECTIVITY_ONLINE);
    return d;
  }

  /**
   * Ends the stream from the daemon's side and waits until the manager has armed its grace timer:
   * one more than were armed before, whatever earlier tests left armed (a grace whose node came
   * back is not cancelled, only ignored when it runs).
   */
  private static void end(FakeDaemon d) throws Exception {
    int before = TIME.pendingTimers();
    d.out.onCompleted();
    d.ended.get(5, TimeUnit.SECONDS);
    TIME.awaitTimers(before + 1);
  }

  @Test
  void aNodeGoesOfflineExactlyOneGraceAfterItsStreamEnded() throws Exception {
    String node = newNode();
    end(connect(node));
    TIME.advance(GRACE.minusMillis(1)); // its timer cannot have run: time has not reached it
    assertEquals(
        Connectivity.CONNECTIVITY_ONLINE,
        connectivity(node),
        "one millisecond before the grace ends");
    TIME.advance(Duration.ofMillis(1));
    await(node, Connectivity.CONNECTIVITY_OFFLINE);
  }

  @Test
  void aReconnectWithinTheGraceKeepsTheNodeOnline() throws Exception {
    String node = newNode();
    String witness = newNode();
    FakeDaemon first = connect(node);
    FakeDaemon w = connect(witness);
    end(first);
    FakeDaemon again = connect(node);
    end(w); // the witness's timer is armed after the node's, at the same moment
    TIME.advance(GRACE);
    await(witness, Connectivity.CONNECTIVITY_OFFLINE);
    assertEquals(
        Connectivity.CONNECTIVITY_ONLINE,
        connectivity(node),
        "the node came back within its grace");
    end(again); // its timer armed here, not during the next test
  }

  @Test
  void theGraceRunsFromTheLatestStreamEndNotAnEarlierOne() throws Exception {
    String node = newNode();
    FakeDaemon first = connect(node);
    FakeDaemon early = connect(newNode()); // witnesses the first end's timer
    end(first);
    end(early);
    TIME.advance(Duration.ofSeconds(10));
    FakeDaemon second = connect(node);
    FakeDaemon late = connect(newNode()); // witnesses the second end's timer
    end(second);
    end(late);
    TIME.advance(GRACE.minusSeconds(10)); // the first end's grace is over, the second's is not
    await(early.nodeId, Connectivity.CONNECTIVITY_OFFLINE);
    assertEquals(
        Connectivity.CONNECTIVITY_ONLINE, connectivity(node), "its latest end was only 20 s ago");
    TIME.advance(Duration.ofSeconds(10));
    await(late.nodeId, Connectivity.CONNECTIVITY_OFFLINE);
    await(node, Connectivity.CONNECTIVITY_OFFLINE);
  }
}
