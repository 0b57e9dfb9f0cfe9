package io.opsscaffold.manager.link;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.opentelemetry.api.trace.TracerProvider;
import io.opsscaffold.manager.fleet.InMemoryFleetRepository;
import io.opsscaffold.manager.fleet.NodeConnectivity;
import io.opsscaffold.manager.fleet.TestNodes;
import io.opsscaffold.testing.Await;
import io.opsscaffold.testing.ManualTime;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Grace periods on fakes and a manual time; the same with real streams is OfflineGraceTest. */
class ConnectivityTrackerTest {
  private static final Duration GRACE = Duration.ofSeconds(30);
  private final ManualTime time = new ManualTime();
  private final InMemoryFleetRepository fleet = new InMemoryFleetRepository();
  private final SessionRegistry registry = new SessionRegistry();
  private final StateWriter writer =
      new StateWriter(fleet, registry, TracerProvider.noop().get("t"), time);
  private final ConnectivityTracker tracker =
      new ConnectivityTracker(registry, writer, time, GRACE, Duration.ofMinutes(10));

  @AfterEach
  void stop() {
    tracker.close();
    writer.close();
  }

  private void online(String id) {
    fleet.apply(List.of(TestNodes.connected(id)));
  }

  private NodeConnectivity connectivity(String id) {
    return fleet.findNode(id).orElseThrow().connectivity();
  }

  @Test
  void nodesStoredOnlineAtStartAreUnconfirmedForOneGraceThenOffline() {
    online("n1");
    online("n2");
    tracker.start(fleet);
    tracker.listening();
    Await.until(
        Duration.ofSeconds(5),
        "n1 UNCONFIRMED: its state is from before this start",
        () -> connectivity("n1"),
        NodeConnectivity.UNCONFIRMED::equals);
    time.awaitTimers(3); // two graces and the silence check
    time.advance(GRACE.minusMillis(1));
    assertEquals(NodeConnectivity.UNCONFIRMED, connectivity("n2"), "its timer cannot have run yet");
    time.advance(Duration.ofMillis(1));
    Await.until(
        Duration.ofSeconds(5),
        "n1 OFFLINE",
        () -> connectivity("n1"),
        NodeConnectivity.OFFLINE::equals);
    Await.until(
        Duration.ofSeconds(5),
        "n2 OFFLINE",
        () -> connectivity("n2"),
        NodeConnectivity.OFFLINE::equals);
  }
}
