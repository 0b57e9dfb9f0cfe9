package io.opsscaffold.manager.alerts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.opsscaffold.manager.fleet.AgentHealth;
import io.opsscaffold.manager.fleet.AgentLifecycle;
import io.opsscaffold.manager.fleet.AgentRecord;
import io.opsscaffold.manager.fleet.FleetWrite;
import io.opsscaffold.manager.fleet.InMemoryFleetRepository;
import io.opsscaffold.manager.fleet.NodeConnectivity;
import io.opsscaffold.manager.fleet.NodeRecord;
import io.opsscaffold.manager.fleet.TestNodes;
import io.opsscaffold.testing.Await;
import io.opsscaffold.testing.ManualTime;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Alerts from committed writes and from time passing, on fakes and a manual time. */
class AlertEngineTest {
  private static final Duration SCAN = Duration.ofSeconds(2);
  private final ManualTime time = new ManualTime();
  private final InMemoryFleetRepository fleet = new InMemoryFleetRepository();
  private final InMemoryAlertRepository alerts = new InMemoryAlertRepository();
  private AlertEngine engine;
  private final AtomicBoolean writesCurrent = new AtomicBoolean(true);

  private AgentRecord agent(
      String lifecycle, long lastHeartbeatMs, long timeoutMs, String message) {
    return new AgentRecord(
        "n1",
        "a1",
        "t",
        AgentLifecycle.parse(lifecycle),
        AgentHealth.HEALTHY,
        7,
        lastHeartbeatMs,
        lastHeartbeatMs,
        timeoutMs,
        OptionalInt.empty(),
        0,
        0,
        message,
        time.millis(),
        List.of(),
        "");
  }

  /** Writes to the fleet and tells the engine, as the state writer does after a commit. */
  private void commit(FleetWrite... writes) {
    fleet.apply(List.of(writes));
    engine.committed(List.of(writes));
  }

  @BeforeEach
  void start() {
    fleet.apply(List.of(TestNodes.connected("n1")));
    engine = new AlertEngine(fleet, alerts, time, Optional.empty(), SCAN, writesCurrent::get);
  }

  @AfterEach
  void stop() {
    engine.close();
  }

  /** Starts the engine and lets its first scan (the full read of the fleet) finish. */
  private void started() {
    engine.start();
    time.awaitTimers(1);
    time.advance(Duration.ZERO);
    time.awaitTimers(1); // re-armed once the scan ended
  }

  @Test
  void anAgentThatStopsOpensAnOffAlertAndRunningAgainResolvesIt() {
    fleet.apply(
        List.of(
            new FleetWrite.UpsertAgents(List.of(agent("RUNNING", time.millis(), 0, "running")))));
    started();
    assertEquals(List.of(), alerts.open());

    commit(
        new FleetWrite.UpsertAgents(
            List.of(agent("STOPPED", time.millis(), 0, "exited with code 1"))));
    AlertRecord open =
        Await.until(Duration.ofSeconds(5), "an alert", alerts::open, l -> l.size() == 1).get(0);
    assertEquals("OFF", open.kind());
    assertEquals("exited with code 1", open.reason());
    assertEquals("east", open.area());

    commit(new FleetWrite.UpsertAgents(List.of(agent("RUNNING", time.millis(), 0, "running"))));
    Await.until(Duration.ofSeconds(5), "the alert to resolve", alerts::open, List::isEmpty);
    assertEquals(1, alerts.count("resolved", "OFF", List.of(), "n1"));
  }

  @Test
  void noHeartbeatIsJudgedStaleWhileTheWriterCannotCommitAndOnceItCaughtUpItIs() {
    fleet.apply(
        List.of(
            new FleetWrite.UpsertAgents(
                List.of(agent("RUNNING", time.millis(), 5_000, "running")))));
    started();
    writesCurrent.set(false); // the database went away: fresher heartbeats may wait uncommitted
    for (int i = 0; i < 5; i++) { // scans at 2 s .. 10 s, well past the 5 s timeout
      time.advance(SCAN);
      time.awaitTimers(1);
    }
    assertEquals(List.of(), alerts.open(), "no alert judged from state that could not be written");

    writesCurrent.set(true); // caught up, and no fresher heartbeat came: the agent is stale indeed
    time.advance(SCAN);
    AlertRecord open =
        Await.until(Duration.ofSeconds(5), "a NO_DATA alert", alerts::open, l -> l.size() == 1)
            .get(0);
    assertEquals("NO_DATA", open.kind());
  }

  @Test
  void aHeartbeatThatGoesStaleOpensNoDataAtTheFirstScanPastItsTimeout() {
    fleet.apply(
        List.of(
            new FleetWrite.UpsertAgents(
                List.of(agent("RUNNING", time.millis(), 5_000, "running")))));
    started();
    for (int i = 0; i < 2; i++) { // scans at 2 s and 4 s: the heartbeat is still fresh
      time.advance(SCAN);
      time.awaitTimers(1);
    }
    assertEquals(List.of(), alerts.open());
    time.advance(SCAN); // 6 s: past the 5 s timeout
    AlertRecord open =
        Await.until(Duration.ofSeconds(5), "a NO_DATA alert", alerts::open, l -> l.size() == 1)
            .get(0);
    assertEquals("NO_DATA", open.kind());
    assertEquals("no heartbeat within its timeout", open.reason());
    assertEquals(time.millis(), open.openedMs());
  }

  @Test
  void anAgentRemovedFromItsNodeIsNotExist() {
    fleet.apply(
        List.of(
            new FleetWrite.UpsertAgents(List.of(agent("RUNNING", time.millis(), 0, "running")))));
    started();
    commit(new FleetWrite.RemoveAgents("n1", List.of("a1")));
    AlertRecord open =
        Await.until(Duration.ofSeconds(5), "an alert", alerts::open, l -> l.size() == 1).get(0);
    assertEquals("NOT_EXIST", open.kind());
    assertTrue(open.reason().contains("no longer configured on node n1"), open.reason());
  }

  @Test
  void aCrashLoopIsOneAlertOfItsKindCountingOneFailurePerAttempt() {
    fleet.apply(
        List.of(
            new FleetWrite.UpsertAgents(List.of(agent("RUNNING", time.millis(), 0, "running")))));
    started();
    commit(
        new FleetWrite.UpsertAgents(
            List.of(agent("RESTARTING", time.millis(), 0, "exited with code 1"))));
    Await.until(
        Duration.ofSeconds(5),
        "an OFF alert",
        alerts::open,
        l -> l.size() == 1 && l.get(0).kind().equals("OFF"));
    for (int attempt = 1; attempt <= 3; attempt++) {
      commit(new FleetWrite.UpsertAgents(List.of(agent("STARTING", time.millis(), 0, "starting"))));
      commit(
          new FleetWrite.UpsertAgents(
              List.of(agent("CRASH_LOOP", time.millis(), 0, "exited with code 1"))));
    }
    int expected = 1 + 3; // the first failure, then one per failed attempt
    AlertRecord a =
        Await.until(
                Duration.ofSeconds(5),
                "the loop counted",
                alerts::open,
                l -> l.size() == 1 && l.get(0).count() == expected)
            .get(0);
    assertEquals("CRASH_LOOP", a.kind(), "it stays a crash loop while it is retried");
    assertEquals(1, alerts.count("", "", List.of(), "n1"), "one alert for the whole incident");
  }

  private AgentRecord stoppedOnPurpose(AgentLifecycle lifecycle) {
    return agent(lifecycle.name(), time.millis(), 0, "stopped").withStopRequested(true);
  }

  @Test
  void anAgentStoppedOnPurposeOpensNoAlertAndStoppingAFailingOneEndsItsIncident() {
    fleet.apply(
        List.of(
            new FleetWrite.UpsertAgents(List.of(agent("RUNNING", time.millis(), 0, "running")))));
    started();
    commit(new FleetWrite.UpsertAgents(List.of(stoppedOnPurpose(AgentLifecycle.STOPPING))));
    commit(new FleetWrite.UpsertAgents(List.of(stoppedOnPurpose(AgentLifecycle.STOPPED))));
    // a later failure shows the engine has seen both: it alerts, once
    commit(
        new FleetWrite.UpsertAgents(List.of(agent("FAILED", time.millis(), 0, "could not start"))));
    AlertRecord open =
        Await.until(Duration.ofSeconds(5), "the failure's alert", alerts::open, l -> l.size() == 1)
            .get(0);
    assertEquals("OFF", open.kind());
    assertEquals(1, alerts.count("", "", List.of(), "n1"), "the operator's stop opened none");
    commit(new FleetWrite.UpsertAgents(List.of(stoppedOnPurpose(AgentLifecycle.STOPPED))));
    Await.until(
        Duration.ofSeconds(5),
        "the incident to end with the operator's stop",
        alerts::open,
        List::isEmpty);
  }

  private static AgentRecord withRestarts(AgentRecord a, long restarts) {
    return new AgentRecord(
        a.nodeId(),
        a.agentId(),
        a.type(),
        a.lifecycle(),
        a.health(),
        a.pid(),
        a.startedMs(),
        a.lastHeartbeatMs(),
        a.heartbeatTimeoutMs(),
        a.lastExitCode(),
        a.lastExitMs(),
        restarts,
        a.message(),
        a.updatedMs(),
        a.lastLogLines(),
        a.lastRestartReason(),
        a.stopRequested());
  }

  @Test
  void anOperatorsRestartOrStartOpensNoAlertButTheDaemonsOwnRestartDoes() {
    fleet.apply(
        List.of(
            new FleetWrite.UpsertAgents(List.of(agent("RUNNING", time.millis(), 0, "running")))));
    started();
    // An operator's restart: stopped on purpose, started again, the restart count unchanged.
    commit(new FleetWrite.UpsertAgents(List.of(stoppedOnPurpose(AgentLifecycle.STOPPING))));
    commit(new FleetWrite.UpsertAgents(List.of(agent("STARTING", time.millis(), 0, "starting"))));
    commit(new FleetWrite.UpsertAgents(List.of(agent("RUNNING", time.millis(), 0, "running"))));
    // An operator's stop, then start.
    commit(new FleetWrite.UpsertAgents(List.of(stoppedOnPurpose(AgentLifecycle.STOPPED))));
    commit(new FleetWrite.UpsertAgents(List.of(agent("STARTING", time.millis(), 0, "starting"))));
    commit(new FleetWrite.UpsertAgents(List.of(agent("RUNNING", time.millis(), 0, "running"))));
    // The daemon restarting it on its own after it died (the RESTARTING between them coalesced
    // away): the grown restart count says it failed.
    commit(
        new FleetWrite.UpsertAgents(
            List.of(withRestarts(agent("STARTING", time.millis(), 0, "starting again"), 1))));
    commit(
        new FleetWrite.UpsertAgents(
            List.of(withRestarts(agent("RUNNING", time.millis(), 0, "running"), 1))));
    // The engine judges the writes in order: once the failure's alert is resolved, it has judged
    // every step before it.
    Await.until(
        Duration.ofSeconds(5),
        "the failure's alert, resolved",
        () -> alerts.list("resolved", "OFF", List.of(), "n1", 0, 10),
        l -> l.stream().anyMatch(a -> a.reason().equals("starting again")));
    assertEquals(
        List.of("starting again"),
        alerts.list("", "", List.of(), "n1", 0, 10).stream().map(AlertRecord::reason).toList(),
        "the operator's restart and start opened none; the daemon's own restart one");
  }

  @Test
  void nothingIsJudgedFromAnUnconfirmedNodeUntilItsDaemonResyncs() {
    NodeRecord n1 = fleet.findNode("n1").orElseThrow();
    NodeRecord unconfirmed =
        new NodeRecord(
            n1.nodeId(),
            n1.hostname(),
            n1.ip(),
            n1.os(),
            n1.arch(),
            n1.daemonVersion(),
            n1.area(),
            n1.zone(),
            n1.cloudId(),
            n1.business(),
            n1.labels(),
            NodeConnectivity.UNCONFIRMED,
            "",
            1,
            1,
            1,
            "");
    fleet.apply(
        List.of(
            new FleetWrite.NodeConnected(unconfirmed),
            new FleetWrite.UpsertAgents(
                List.of(agent("STOPPING", time.millis(), 0, "stale, from before the restart")))));
    started();
    commit(new FleetWrite.UpsertAgents(List.of(agent("STOPPED", time.millis(), 0, "still stale"))));
    time.advance(SCAN);
    time.awaitTimers(1);
    assertEquals(List.of(), alerts.open(), "no alert from state the manager has not confirmed");
    commit(new FleetWrite.NodeConnected(n1)); // the daemon is back: its Hello alone confirms
    time.advance(SCAN); // nothing, the stored rows are still from before the restart
    time.awaitTimers(1);
    assertEquals(List.of(), alerts.open(), "no alert from rows older than the new stream");
    commit( // its full state, sent right after the Hello: this state counts
        new FleetWrite.ReplaceAgents(
            "n1", List.of(agent("STOPPED", time.millis(), 0, "exited with code 1"))));
    Await.until(
        Duration.ofSeconds(5), "the confirmed state judged", alerts::open, l -> l.size() == 1);
  }

  @Test
  void aNodeMarkedUnconfirmedAfterTheFirstReadHasNoHeartbeatJudgedStale() {
    // The engine read the node ONLINE with a running agent; then it is marked UNCONFIRMED (its
    // state is from before a restart). Time passing beyond the heartbeat timeout judges nothing.
    fleet.apply(
        List.of(
            new FleetWrite.UpsertAgents(
                List.of(agent("RUNNING", time.millis(), 5_000, "running")))));
    started();
    commit(new FleetWrite.NodesUnconfirmed(List.of("n1")));
    for (int i = 0; i < 5; i++) { // scans at 2 s .. 10 s, past the 5 s timeout
      time.advance(SCAN);
      time.awaitTimers(1);
    }
    assertEquals(List.of(), alerts.open(), "no alert from heartbeats as old as the restart");
  }
}
