package io.opsscaffold.manager.link;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.opentelemetry.api.trace.TracerProvider;
import io.opsscaffold.manager.fleet.InMemoryFleetRepository;
import io.opsscaffold.manager.fleet.TestNodes;
import io.opsscaffold.testing.Await;
import io.opsscaffold.testing.ManualTime;
import java.time.Duration;
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

  @Test
  void aFailedCommitMakesTheStateNotCurrentUntilWhatWaitedMeanwhileIsCommittedToo() {
    assertTrue(writer.current());
    fleet.failing.set(true);
    writer.submit(TestNodes.connected("n1"));
    Await.until(Duration.ofSeconds(5), "the commit to fail", writer::current, c -> !c);
    time.awaitTimers(1); // the retry backoff
    writer.submit(
        TestNodes.connected("n2")); // arrives during the outage: waits for the retried batch

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
    writer.submit(TestNodes.connected("n1"));
    Await.until(Duration.ofSeconds(5), "the commit to fail", writer::current, c -> !c);
    time.awaitTimers(1);
    fleet.failing.set(false);
    time.advance(Duration.ofSeconds(1));
    Await.until(Duration.ofSeconds(5), "the writer to catch up", writer::current, c -> c);
    assertTrue(fleet.findNode("n1").isPresent());
  }
}
