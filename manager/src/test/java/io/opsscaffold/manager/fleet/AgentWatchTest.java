package io.opsscaffold.manager.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.opsscaffold.api.fleet.v1.AgentEvent;
import io.opsscaffold.api.fleet.v1.WatchAgentsRequest;
import io.opsscaffold.manager.streams.RecordingCall;
import io.opsscaffold.testing.Await;
import io.opsscaffold.testing.ManualClock;
import java.time.Duration;
import java.util.List;
import java.util.OptionalInt;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The agent watch on an in-memory fleet: snapshot, SYNCED, then each committed change that matches.
 */
class AgentWatchTest {
  private final ManualClock clock = new ManualClock();
  private final InMemoryFleetRepository fleet = new InMemoryFleetRepository();
  private final AgentWatch watch = new AgentWatch(fleet, clock);

  @AfterEach
  void stop() {
    watch.close();
  }

  private static AgentRecord agent(String node, String id, AgentLifecycle lifecycle) {
    return new AgentRecord(
        node,
        id,
        "t",
        lifecycle,
        AgentHealth.HEALTHY,
        7,
        1,
        1,
        0,
        OptionalInt.empty(),
        0,
        0,
        "",
        1,
        List.of(),
        "");
  }

  /** Writes to the fleet and tells the watch, as the state writer does after a commit. */
  private void commit(FleetWrite... writes) {
    fleet.apply(List.of(writes));
    watch.committed(List.of(writes));
  }

  private static List<String> changes(RecordingCall<AgentEvent> call) {
    return call.sent.stream()
        .map(e -> e.getChange() + (e.hasAgent() ? " " + e.getAgent().getAgentId() : ""))
        .toList();
  }

  @Test
  void aWatchSeesTheMatchingAgentsThenSyncedThenEachChange() {
    fleet.apply(
        List.of(
            new FleetWrite.NodeConnected(TestNodes.online("n1", "east")),
            new FleetWrite.NodeConnected(TestNodes.online("n2", "west")),
            new FleetWrite.UpsertAgents(
                List.of(
                    agent("n1", "a1", AgentLifecycle.RUNNING),
                    agent("n2", "b1", AgentLifecycle.RUNNING)))));
    RecordingCall<AgentEvent> call = new RecordingCall<>();
    watch.watch(WatchAgentsRequest.newBuilder().setArea("east").build(), List.of("east"), call);
    Await.until(Duration.ofSeconds(5), "the snapshot", () -> changes(call), c -> c.size() == 2);
    assertEquals(List.of("EXISTING a1", "SYNCED"), changes(call));

    commit(
        new FleetWrite.UpsertAgents(
            List.of(
                agent("n1", "a1", AgentLifecycle.STOPPED),
                agent("n2", "b1", AgentLifecycle.STOPPED))));
    Await.until(Duration.ofSeconds(5), "the change", () -> changes(call), c -> c.size() == 3);
    assertEquals("UPDATED a1", changes(call).get(2), "west's b1 is not this watch's");
    assertEquals(1, call.sent.get(2).getAgent().getAvailability(), "OFF");

    commit(new FleetWrite.RemoveAgents("n1", List.of("a1")));
    Await.until(Duration.ofSeconds(5), "the removal", () -> changes(call), c -> c.size() == 4);
    assertEquals("REMOVED a1", changes(call).get(3));
  }

  @Test
  void anAgentThatLeavesTheFilterIsRemovedOnce() {
    fleet.apply(
        List.of(
            new FleetWrite.NodeConnected(TestNodes.online("n1", "east")),
            new FleetWrite.UpsertAgents(List.of(agent("n1", "a1", AgentLifecycle.RUNNING)))));
    RecordingCall<AgentEvent> call = new RecordingCall<>();
    watch.watch(WatchAgentsRequest.newBuilder().setStatus("ON").build(), List.of(), call);
    Await.until(Duration.ofSeconds(5), "the snapshot", () -> changes(call), c -> c.size() == 2);
    commit(new FleetWrite.UpsertAgents(List.of(agent("n1", "a1", AgentLifecycle.STOPPED))));
    commit(new FleetWrite.UpsertAgents(List.of(agent("n1", "a1", AgentLifecycle.FAILED))));
    commit(new FleetWrite.UpsertAgents(List.of(agent("n1", "a1", AgentLifecycle.RUNNING))));
    Await.until(Duration.ofSeconds(5), "it coming back", () -> changes(call), c -> c.size() == 4);
    assertEquals(List.of("EXISTING a1", "SYNCED", "REMOVED a1", "UPDATED a1"), changes(call));
  }
}
