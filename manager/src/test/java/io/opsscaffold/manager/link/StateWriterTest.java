package io.opsscaffold.manager.link;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.opentelemetry.api.trace.TracerProvider;
import io.opsscaffold.manager.fleet.FleetWrite;
import io.opsscaffold.manager.fleet.InMemoryFleetRepository;
import io.opsscaffold.manager.fleet.NodeConnectivity;
import io.opsscaffold.manager.fleet.NodeRecord;
import io.opsscaffold.testing.Await;
import io.opsscaffold.testing.ManualTime;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The writer's account of whether the committed state is current, on a fake that can fail. */
class StateWriterTest {
  private final ManualTime time = new ManualTime();
  private final InMemoryFleetRepository fleet = new InMemoryFleetRepository();
  private final StateWriter writer =
      new StateWriter(fleet, new SessionRegistry(), TracerProvider.noop().get("t"), time);

  @AfterEach
  void stop() {
    writer.close();
  }

  private static FleetWrite connected(String id) {
    return new FleetWrite.NodeConnected(
        new NodeRecord(
            id,
            "h",
            "10.0.0.1",
            "Linux",
            "amd64",
            "0.1.0",
            "east",
            "z",
            0,
            "b",
            Map.of(),
            NodeConnectivity.ONLINE,
            "s",
            1,
            1,
            1,
            ""));
  }

  @Test
  void aFailedCommitMakesTheStateNotCurrentUntilWhatWaitedMeanwhileIsCommittedToo() {
    assertTrue(writer.current());
    fleet.failing.set(true);
    writer.submit(connected("n1"));
    Await.until(Duration.ofSeconds(5), "the commit to fail", writer::current, c -> !c);
    time.awaitTimers(1); // the retry backoff
    writer.submit(connected("n2")); // arrives during the outage: waits for the retried batch

    fleet.failing.set(false);
    time.advance(Duration.ofSeconds(1)); // the retry commits n1; then n2's batch commits
    Await.until(Duration.ofSeconds(5), "the writer to catch up", writer::current, c -> c);
    assertTrue(
        fleet.findNode("n2").isPresent(),
        "current only once the change that waited during the outage is committed");
    assertTrue(fleet.findNode("n1").isPresent());
  }

  @Test
  void aFailedCommitWithNothingWaitingBehindItIsCurrentOnceItCommits() {
    fleet.failing.set(true);
    writer.submit(connected("n1"));
    Await.until(Duration.ofSeconds(5), "the commit to fail", writer::current, c -> !c);
    time.awaitTimers(1);
    fleet.failing.set(false);
    time.advance(Duration.ofSeconds(1));
    Await.until(Duration.ofSeconds(5), "the writer to catch up", writer::current, c -> c);
    assertTrue(fleet.findNode("n1").isPresent());
  }
}
