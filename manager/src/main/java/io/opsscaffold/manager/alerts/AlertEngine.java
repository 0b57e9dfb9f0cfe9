package io.opsscaffold.manager.alerts;

import com.google.protobuf.util.JsonFormat;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.opsscaffold.api.fleet.v1.AlertEvent;
import io.opsscaffold.manager.fleet.AgentLifecycle;
import io.opsscaffold.manager.fleet.AgentRecord;
import io.opsscaffold.manager.fleet.Availability;
import io.opsscaffold.manager.fleet.FleetRepository;
import io.opsscaffold.manager.fleet.FleetWrite;
import io.opsscaffold.manager.fleet.NodeConnectivity;
import io.opsscaffold.manager.fleet.NodeRecord;
import io.opsscaffold.manager.streams.BoundedStream;
import io.opsscaffold.time.Scheduler;
import io.opsscaffold.time.Time;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Queue;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Opens, repeats and resolves alerts from the agents' derived availability.
 *
 * <p>It works from the state writer's committed batches ({@link #committed}): each changed agent is
 * evaluated once, so the cost follows the rate of change, not the size of the fleet. What time
 * alone changes (a heartbeat going stale) is found every {@code scanInterval} in memory, from the
 * deadline kept per agent. The database is read in full only at start and when the engine fell more
 * than {@value #MAX_PENDING_WRITES} writes behind; a node that goes offline (or is not yet known)
 * is re-read on its own. One thread owns this state; watchers and the webhook are fed from it
 * without ever blocking it: a watcher whose queue is full is dropped with RESOURCE_EXHAUSTED.
 */
public final class AlertEngine implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(AlertEngine.class.getName());
  static final int WATCHER_QUEUE = 256;
  static final int MAX_PENDING_WRITES = 100_000;

  /**
   * What the engine last concluded about one agent; {@code staleAtMs} is 0 when time cannot change
   * it; {@code restarts} is its restart count then, which grows only when the daemon restarts it on
   * its own (after a failure), not for an operator's start or restart.
   */
  private record Seen(
      String area, Availability availability, String kind, long staleAtMs, long restarts) {}

  private final FleetRepository fleet;
  private final BooleanSupplier stateCurrent;
  private boolean judgingPaused; // alerts thread only
  private final AlertRepository alerts;
  private final Clock clock;
  private final Optional<AlertWebhook> webhook;
  private final Duration scanInterval;
  private final Scheduler thread;
  private final Set<BoundedStream<AlertEvent>> watchers = ConcurrentHashMap.newKeySet();
  // The areas of watchers limited to some (a scoped token's); the others see every alert.
  private final Map<BoundedStream<AlertEvent>, List<String>> scoped = new ConcurrentHashMap<>();
  private final Queue<List<FleetWrite>> pending = new ConcurrentLinkedQueue<>();
  private final AtomicInteger pendingWrites = new AtomicInteger();
  private final AtomicBoolean drainScheduled = new AtomicBoolean();
  private volatile boolean rescan = true;
  private volatile boolean started;
  // Owned by the alerts thread.
  private final Map<String, NodeRecord> nodes = new HashMap<>();
  private final Map<String, Map<String, Seen>> seen = new HashMap<>();
  private final Map<List<String>, Long> counts = new HashMap<>();
  private final Map<String, AlertRecord> openAlerts = new HashMap<>();
  private boolean alertsChanged = true;
  // Whether this manager opens and resolves alerts: always when it runs alone; on etcd, only while
  // it leads its area (one judge per area, so no alert or webhook is sent twice).
  private boolean leading = true; // alerts thread only

  /**
   * @param time the scan runs on it, and availability is judged at its time
   * @param stateCurrent false while the state writer cannot commit what the daemons send (the
   *     database is away) and until it has caught up: heartbeats are then not judged stale, since
   *     the fresh ones may be among the uncommitted changes
   */
  public AlertEngine(
      FleetRepository fleet,
      AlertRepository alerts,
      Time time,
      Optional<AlertWebhook> webhook,
      Duration scanInterval,
      BooleanSupplier stateCurrent) {
    this.fleet = fleet;
    this.stateCurrent = stateCurrent;
    this.alerts = alerts;
    this.clock = time.clock();
    this.thread = time.scheduler("alerts");
    this.webhook = webhook;
    this.scanInterval = scanInterval;
  }

  public void start() {
    thread.execute(
        () -> alerts.open().forEach(a -> openAlerts.put(key(a.nodeId(), a.agentId()), a)));
    thread.scheduleWithFixedDelay(Duration.ZERO, scanInterval, () -> safely(this::tick));
    started = true;
  }

  /**
   * Whether this manager is the one that judges (its area's leader). Never blocks; applied on the
   * alerts thread. On taking the lead the engine reloads the open alerts, which another manager may
   * have opened or resolved meanwhile, and judges the whole fleet afresh: an agent already alerted
   * for stays one incident, a recovered one is resolved.
   */
  public void leading(boolean now) {
    thread.execute(
        () -> {
          if (now == leading) {
            return;
          }
          leading = now;
          if (now) {
            openAlerts.clear();
            alerts.open().forEach(a -> openAlerts.put(key(a.nodeId(), a.agentId()), a));
            seen.clear();
            counts.clear();
            alertsChanged = true;
            rescan = true;
            safely(this::drain);
          }
        });
  }

  /**
   * Nodes another manager of the area changed (its commits, heard through the database). Never
   * blocks: on the leader's alerts thread each is read again and judged, like a node whose stream
   * this manager holds. A follower reads nothing: it judges nothing, and reads the whole fleet when
   * it takes the lead.
   */
  public void changedElsewhere(java.util.Collection<String> nodeIds) {
    List<String> ids = List.copyOf(nodeIds);
    thread.execute(
        () ->
            safely(
                () -> {
                  if (!leading) {
                    return;
                  }
                  if (rescan) {
                    drain();
                  }
                  long now = clock.millis();
                  ids.forEach(id -> rereadNode(id, now));
                  publishCounts();
                }));
  }

  private volatile java.util.function.Consumer<AlertEvent> announcer = e -> {};

  /**
   * Every alert event this manager publishes (as its area's leader) is also handed to {@code
   * announcer}, on the alerts thread, for the area's other managers.
   */
  public void announceTo(java.util.function.Consumer<AlertEvent> announcer) {
    this.announcer = announcer;
  }

  /**
   * An alert event the area's leader published on another manager. Never blocks; on the alerts
   * thread it goes to this manager's alert watchers, unless this manager leads now (then it made
   * its own judgement from the same state).
   */
  public void heardElsewhere(AlertEvent event) {
    thread.execute(
        () -> {
          if (!leading) {
            offer(event, event.getAlert().getArea());
          }
        });
  }

  /** Changes made elsewhere may have gone unheard: the whole fleet is read again. */
  public void rereadAll() {
    rescan = true;
    if (started) {
      thread.execute(() -> safely(this::drain));
    }
  }

  /**
   * The writes of one committed batch, in commit order. Never blocks: they are evaluated on the
   * alerts thread; past {@value #MAX_PENDING_WRITES} queued writes the engine re-reads the database
   * instead.
   */
  public void committed(List<FleetWrite> writes) {
    if (pendingWrites.addAndGet(writes.size()) > MAX_PENDING_WRITES) {
      rescan = true;
    } else {
      pending.add(writes);
    }
    if (started && drainScheduled.compareAndSet(false, true)) {
      thread.execute(() -> safely(this::drain));
    }
  }

  private void safely(Runnable step) {
    try {
      step.run();
    } catch (RuntimeException e) {
      LOG.log(Level.WARNING, "alert evaluation failed; the fleet will be re-read", e);
      rescan = true;
    }
  }

  /** Agents per (area, availability name), as of the latest evaluation. */
  public Map<List<String>, Long> availabilityCounts() {
    return availabilityCounts;
  }

  /** Open alerts per kind, as of the latest evaluation. */
  public Map<String, Long> openByKind() {
    return openByKind;
  }

  private volatile Map<List<String>, Long> availabilityCounts = Map.of();
  private volatile Map<String, Long> openByKind = Map.of();

  private void drain() {
    drainScheduled.set(false);
    long now = clock.millis();
    if (rescan) {
      fullScan(now);
    }
    Set<String> reread = new LinkedHashSet<>();
    for (List<FleetWrite> writes; (writes = pending.poll()) != null; ) {
      pendingWrites.addAndGet(-writes.size());
      for (FleetWrite write : writes) {
        apply(write, reread, now);
      }
    }
    reread.forEach(nodeId -> rereadNode(nodeId, now));
    publishCounts();
  }

  private void apply(FleetWrite write, Set<String> reread, long now) {
    switch (write) {
      // Its stored agents are as old as its last stream: they are judged from the full state that
      // every new stream sends right after its Hello (a ReplaceAgents), not re-read now.
      case FleetWrite.NodeConnected w -> nodes.put(w.node().nodeId(), w.node());
      case FleetWrite.NodeOffline w -> reread.add(w.nodeId());
      case FleetWrite.NodesUnconfirmed w -> reread.addAll(w.nodeIds());
      case FleetWrite.UpsertAgents w -> {
        for (AgentRecord agent : w.agents()) {
          NodeRecord node = nodes.get(agent.nodeId());
          if (node == null) {
            reread.add(agent.nodeId());
          } else {
            evaluate(node, agent, now);
          }
        }
      }
      case FleetWrite.ReplaceAgents w -> {
        NodeRecord node = nodes.get(w.nodeId());
        if (node == null) {
          reread.add(w.nodeId());
          return;
        }
        Set<String> present = new HashSet<>();
        for (AgentRecord agent : w.agents()) {
          present.add(agent.agentId());
          evaluate(node, agent, now);
        }
        removeAbsent(w.nodeId(), present, now);
      }
      case FleetWrite.RemoveAgents w -> w.agentIds().forEach(id -> removed(w.nodeId(), id, now));
      case FleetWrite.NodeDeleted w -> {
        removeAbsent(w.nodeId(), Set.of(), now);
        nodes.remove(w.nodeId());
      }
      case FleetWrite.NodeDisconnected w -> {} // the node stays ONLINE until NodeOffline
      case FleetWrite.NodeStats w -> {}
    }
  }

  /** Reads the whole fleet and evaluates every agent; agents no longer stored are NOT_EXIST. */
  private void fullScan(long now) {
    rescan = false;
    pending.clear();
    pendingWrites.set(0);
    Map<String, Set<String>> present = new HashMap<>();
    for (var r :
        fleet.listFleetAgents(new FleetRepository.AgentFilter("", "", "", "", "", "", "", ""))) {
      nodes.put(r.node().nodeId(), r.node());
      present.computeIfAbsent(r.node().nodeId(), n -> new HashSet<>()).add(r.agent().agentId());
      evaluate(r.node(), r.agent(), now);
    }
    for (String nodeId : Set.copyOf(seen.keySet())) {
      removeAbsent(nodeId, present.getOrDefault(nodeId, Set.of()), now);
    }
  }

  private void rereadNode(String nodeId, long now) {
    Optional<NodeRecord> node = fleet.findNode(nodeId);
    Set<String> present = new HashSet<>();
    if (node.isPresent()) {
      nodes.put(nodeId, node.get());
      for (AgentRecord agent : fleet.listAgents(nodeId)) {
        present.add(agent.agentId());
        evaluate(node.get(), agent, now);
      }
    }
    removeAbsent(nodeId, present, now);
  }

  /** Heartbeats that went stale since they were evaluated. */
  private void tick() {
    if (rescan) {
      drain();
      return;
    }
    if (!stateCurrent.getAsBoolean()) {
      if (!judgingPaused) {
        judgingPaused = true;
        LOG.warning(
            "fleet writes are not committing; heartbeats are not judged stale until they are");
      }
      publishCounts();
      return;
    }
    if (judgingPaused) {
      judgingPaused = false;
      LOG.info("fleet writes caught up; judging heartbeats again");
    }
    long now = clock.millis();
    List<String[]> stale = new ArrayList<>();
    seen.forEach(
        (nodeId, agents) ->
            agents.forEach(
                (agentId, s) -> {
                  if (s.staleAtMs() > 0 && now > s.staleAtMs()) {
                    stale.add(new String[] {nodeId, agentId});
                  }
                }));
    for (String[] k : stale) {
      Seen before = seen.get(k[0]).get(k[1]);
      track(
          k[0],
          k[1],
          new Seen(before.area(), Availability.NO_DATA, "NO_DATA", 0, before.restarts()));
      observe(
          k[0],
          k[1],
          before.area(),
          before.kind(),
          "NO_DATA",
          "no heartbeat within its timeout",
          now);
    }
    publishCounts();
  }

  private void evaluate(NodeRecord node, AgentRecord agent, long now) {
    if (node.connectivity() == NodeConnectivity.UNCONFIRMED) {
      // State from before this manager started: judged once its daemon resyncs or goes offline.
      // Until then time alone must not judge it either (its heartbeats are as old as the crash).
      Seen before = seen.getOrDefault(node.nodeId(), Map.of()).get(agent.agentId());
      if (before != null && before.staleAtMs() > 0) {
        track(
            node.nodeId(),
            agent.agentId(),
            new Seen(before.area(), before.availability(), before.kind(), 0, before.restarts()));
      }
      return;
    }
    Availability a = Availability.of(node, agent, now);
    Seen prior = seen.getOrDefault(node.nodeId(), Map.of()).get(agent.agentId());
    // An agent meant to be stopped (an operator's stop, no autostart) is OFF as desired: no
    // alert opens for it, and stopping a failing agent on purpose ends its incident. So is a
    // start on the way from there or from ON (an operator's start or restart, a new agent): a
    // start after a failure comes with a grown restart count, or an incident already open.
    boolean requestedStart =
        agent.lifecycle() == AgentLifecycle.STARTING
            && (prior == null
                || (prior.kind().equals("ON") && prior.restarts() == agent.restartCount()));
    boolean asDesired =
        a == Availability.ON
            || (a == Availability.OFF && (agent.stopRequested() || requestedStart));
    String kind =
        asDesired ? "ON" : agent.lifecycle() == AgentLifecycle.CRASH_LOOP ? "CRASH_LOOP" : a.name();
    String reason =
        a == Availability.UNKNOWN && !node.online()
            ? "node " + node.nodeId() + " is offline"
            : agent.message();
    Seen before =
        track(
            node.nodeId(),
            agent.agentId(),
            new Seen(
                node.area(),
                a,
                kind,
                a == Availability.ON ? Availability.staleAtMs(agent) : 0,
                agent.restartCount()));
    observe(
        node.nodeId(),
        agent.agentId(),
        node.area(),
        before == null ? null : before.kind(),
        kind,
        reason,
        now);
  }

  private void removeAbsent(String nodeId, Set<String> present, long now) {
    Map<String, Seen> agents = seen.get(nodeId);
    if (agents != null) {
      for (String agentId : List.copyOf(agents.keySet())) {
        if (!present.contains(agentId)) {
          removed(nodeId, agentId, now);
        }
      }
    }
  }

  private void removed(String nodeId, String agentId, long now) {
    Seen before = track(nodeId, agentId, null);
    if (before != null) {
      observe(
          nodeId,
          agentId,
          before.area(),
          before.kind(),
          "NOT_EXIST",
          "agent " + agentId + " is no longer configured on node " + nodeId,
          now);
    }
  }

  /**
   * Records {@code next} (null: forget the agent), keeps the counts, and returns what was there.
   */
  private Seen track(String nodeId, String agentId, Seen next) {
    Map<String, Seen> agents = seen.computeIfAbsent(nodeId, n -> new HashMap<>());
    Seen before = next == null ? agents.remove(agentId) : agents.put(agentId, next);
    if (agents.isEmpty()) {
      seen.remove(nodeId);
    }
    if (before != null
        && next != null
        && before.availability() == next.availability()
        && before.area().equals(next.area())) {
      return before; // the counts stay as they are
    }
    if (before != null) {
      counts.merge(
          List.of(before.area(), before.availability().name()),
          -1L,
          (x, y) -> x + y == 0 ? null : x + y);
    }
    if (next != null) {
      counts.merge(List.of(next.area(), next.availability().name()), 1L, Long::sum);
    }
    return before;
  }

  private void publishCounts() {
    availabilityCounts = Map.copyOf(counts);
    if (!alertsChanged) {
      return; // counting the open alerts walks all of them: only after a change
    }
    alertsChanged = false;
    Map<String, Long> kinds = new HashMap<>();
    openAlerts.values().forEach(a -> kinds.merge(a.kind(), 1L, Long::sum));
    openByKind = Map.copyOf(kinds);
  }

  private void observe(
      String nodeId,
      String agentId,
      String area,
      String previous,
      String kind,
      String reason,
      long now) {
    if (!leading) {
      return; // the area's leader judges
    }
    if (kind.equals(previous)) {
      return; // no transition: an alert opened (or was resolved) when this kind began
    }
    String key = key(nodeId, agentId);
    AlertRecord open = openAlerts.get(key);
    if (kind.equals("ON")) {
      if (open != null) {
        AlertRecord resolved =
            new AlertRecord(
                open.alertId(),
                nodeId,
                agentId,
                area,
                open.kind(),
                open.reason(),
                open.openedMs(),
                now,
                open.count(),
                now);
        openAlerts.remove(key);
        publish("RESOLVED", resolved);
      }
      return;
    }
    if (open == null) {
      AlertRecord opened =
          new AlertRecord(
              "alert-" + UUID.randomUUID(),
              nodeId,
              agentId,
              area,
              kind,
              truncate(reason),
              now,
              now,
              1,
              0);
      openAlerts.put(key, opened);
      publish("OPENED", opened);
    } else if (open.kind().equals("CRASH_LOOP") && !kind.equals("CRASH_LOOP")) {
      // One incident, one alert: each retry of a crash-looping agent passes through STARTING
      // (OFF); that is the loop going on, not a new kind of trouble. The next crash counts below.
      return;
    } else if (previous != null) {
      AlertRecord repeated =
          new AlertRecord(
              open.alertId(),
              nodeId,
              agentId,
              area,
              kind,
              truncate(reason),
              open.openedMs(),
              now,
              open.count() + 1,
              0);
      openAlerts.put(key, repeated);
      publish("REPEATED", repeated);
    }
  }

  private void publish(String change, AlertRecord alert) {
    alertsChanged = true;
    alerts.save(alert);
    AlertEvent event =
        AlertEvent.newBuilder().setChange(change).setAlert(AlertProtos.alert(alert)).build();
    LOG.info(
        () ->
            "alert "
                + change.toLowerCase()
                + ": "
                + alert.kind()
                + " "
                + alert.nodeId()
                + "/"
                + alert.agentId()
                + " ("
                + alert.reason()
                + ")");
    offer(event, alert.area());
    try {
      announcer.accept(event);
    } catch (RuntimeException e) {
      LOG.warning("could not announce an alert event to the area's other managers: " + e);
    }
    webhook.ifPresent(
        h -> {
          try {
            h.send(JsonFormat.printer().omittingInsignificantWhitespace().print(event));
          } catch (Exception e) {
            LOG.warning("could not encode an alert event: " + e);
          }
        });
  }

  private void offer(AlertEvent event, String area) {
    for (BoundedStream<AlertEvent> w : watchers) {
      List<String> areas = scoped.get(w);
      if (areas == null || areas.contains(area)) {
        w.offer(event);
      }
    }
  }

  /**
   * Streams the open alerts, a SYNCED marker, then every alert event to {@code out} until it goes
   * away or falls behind. The snapshot is taken on the alerts thread, so no change is missed or
   * sent twice between the snapshot and the live events.
   */
  public void watch(ServerCallStreamObserver<AlertEvent> out) {
    watch(out, List.of());
  }

  /** As {@link #watch(ServerCallStreamObserver)}, for the alerts of {@code areas} (empty: all). */
  public void watch(ServerCallStreamObserver<AlertEvent> out, List<String> areas) {
    BoundedStream<AlertEvent> w =
        new BoundedStream<>(
            out,
            WATCHER_QUEUE,
            "alert events",
            s -> {
              watchers.remove(s);
              scoped.remove(s);
            });
    if (!areas.isEmpty()) {
      scoped.put(w, List.copyOf(areas));
    }
    thread.execute(
        () -> {
          // Another manager leads: the open alerts are what it stored (the events heard since
          // follow this snapshot on this thread; one may repeat what the snapshot shows).
          for (AlertRecord open : leading ? openAlerts.values() : alerts.open()) {
            if (!areas.isEmpty() && !areas.contains(open.area())) {
              continue;
            }
            w.preload(
                AlertEvent.newBuilder()
                    .setChange("OPEN")
                    .setAlert(AlertProtos.alert(open))
                    .build());
          }
          w.preload(AlertEvent.newBuilder().setChange("SYNCED").build());
          if (!w.closed()) {
            watchers.add(w);
          }
        });
  }

  private static String key(String nodeId, String agentId) {
    return nodeId + "\u0000" + agentId;
  }

  private static String truncate(String s) {
    return s.length() <= 1024 ? s : s.substring(0, 1024);
  }

  @Override
  public void close() {
    thread.close();
    watchers.forEach(
        w -> w.close(Status.UNAVAILABLE.withDescription("the manager is shutting down")));
    webhook.ifPresent(AlertWebhook::close);
  }
}
