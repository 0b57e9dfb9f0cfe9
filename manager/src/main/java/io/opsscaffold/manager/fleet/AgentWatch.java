package io.opsscaffold.manager.fleet;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.opsscaffold.api.fleet.v1.Agent;
import io.opsscaffold.api.fleet.v1.AgentEvent;
import io.opsscaffold.api.fleet.v1.WatchAgentsRequest;
import io.opsscaffold.manager.streams.BoundedStream;
import java.time.Clock;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Feeds WatchAgents streams from the state writer's commits. The writer hands each committed batch
 * to {@link #committed} (which returns at once); one thread turns the writes into events for every
 * watcher whose filters match, so the state path never waits for a watcher. Costs nothing while
 * nobody watches.
 *
 * <p>Each watcher remembers which agents it was told about, so that an agent leaving its filter (or
 * its node) is reported once as REMOVED.
 */
public final class AgentWatch implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(AgentWatch.class.getName());

  /** Live events a watcher may have waiting before it is dropped. */
  static final int WATCHER_QUEUE = 4096;

  private record Filter(String nodeId, List<String> areas, Optional<Availability> availability) {
    boolean matches(NodeRecord node, Availability a) {
      return (nodeId.isEmpty() || nodeId.equals(node.nodeId()))
          && (areas.isEmpty() || areas.contains(node.area()))
          && (availability.isEmpty() || availability.get() == a);
    }
  }

  /**
   * A watch: its filter, its stream, and the agents it was told about (owned by the watch thread).
   */
  private record Watcher(Filter filter, BoundedStream<AgentEvent> stream, Set<String> told) {}

  private final FleetRepository repository;
  private final Clock clock;
  private final Set<Watcher> watchers = ConcurrentHashMap.newKeySet();
  private final ExecutorService thread =
      Executors.newSingleThreadExecutor(
          r -> Thread.ofPlatform().name("agent-watch").daemon(true).unstarted(r));
  // Owned by the watch thread.
  private final Map<String, NodeRecord> nodes = new HashMap<>();

  public AgentWatch(FleetRepository repository, Clock clock) {
    this.repository = repository;
    this.clock = clock;
  }

  /** The writes of one committed batch. Never blocks; does nothing while nobody watches. */
  public void committed(List<FleetWrite> writes) {
    if (watchers.isEmpty()) {
      return;
    }
    thread.execute(
        () -> {
          try {
            writes.forEach(this::apply);
          } catch (RuntimeException e) {
            missed("agent watchers missed a batch", e);
          }
        });
  }

  /**
   * Nodes another manager of the area changed (heard through the database). Never blocks; does
   * nothing while nobody watches. Each node is read again on the watch thread: its agents are
   * reported UPDATED, and those no longer there REMOVED.
   */
  public void changedElsewhere(java.util.Collection<String> nodeIds) {
    if (watchers.isEmpty()) {
      return;
    }
    List<String> ids = List.copyOf(nodeIds);
    thread.execute(
        () -> {
          try {
            ids.forEach(this::reread);
          } catch (RuntimeException e) {
            missed("agent watchers missed a change made elsewhere", e);
          }
        });
  }

  /** A change could not be followed: every watch ends, so that its client watches again. */
  private void missed(String what, RuntimeException e) {
    LOG.log(Level.WARNING, what, e);
    watchers.forEach(
        w ->
            w.stream()
                .close(
                    Status.INTERNAL.withDescription(
                        "the manager could not follow a change ("
                            + e.getMessage()
                            + "); watch again")));
  }

  /**
   * Changes made elsewhere may have gone unheard: every watch ends with UNAVAILABLE, so its client
   * watches again from a fresh snapshot (a watch never silently misses a change).
   */
  public void missedChanges() {
    thread.execute(
        () ->
            watchers.forEach(
                w ->
                    w.stream()
                        .close(
                            Status.UNAVAILABLE.withDescription(
                                "changes made on other managers may have been missed; watch"
                                    + " again"))));
  }

  private void reread(String nodeId) {
    nodes.remove(nodeId);
    Optional<NodeRecord> node = node(nodeId);
    Set<String> present = new HashSet<>();
    if (node.isPresent()) {
      for (AgentRecord agent : repository.listAgents(nodeId)) {
        present.add(key(nodeId, agent.agentId()));
        changed(node.get(), agent);
      }
    }
    String prefix = nodeId + "\u0000";
    for (Watcher w : watchers) {
      for (String k : Set.copyOf(w.told())) {
        if (k.startsWith(prefix) && !present.contains(k) && w.told().remove(k)) {
          w.stream().offer(removed(nodeId, k.substring(prefix.length())));
        }
      }
    }
  }

  /**
   * Streams the matching agents (EXISTING), SYNCED, then each matching change. The snapshot is read
   * on the watch thread, in order with the commits it follows, so nothing is missed.
   *
   * @param areas the areas watched (empty: all): the request's area within the caller's scope
   * @throws io.opsscaffold.errors.OpsException INVALID_ARGUMENT for a bad availability filter
   */
  public void watch(
      WatchAgentsRequest req, List<String> areas, ServerCallStreamObserver<AgentEvent> out) {
    Filter filter =
        new Filter(
            req.getNodeId().trim(),
            areas,
            req.getStatus().isBlank()
                ? Optional.empty()
                : Optional.of(FleetQueries.parseAvailability(req.getStatus())));
    Watcher w =
        new Watcher(
            filter,
            new BoundedStream<>(
                out, WATCHER_QUEUE, "agent events", s -> watchers.removeIf(x -> x.stream() == s)),
            new HashSet<>());
    thread.execute(
        () -> {
          try {
            if (watchers.isEmpty()) {
              nodes.clear(); // nobody followed the commits since it was filled
            }
            // Followed from before the snapshot is read: a commit made meanwhile is queued behind
            // this task (it may repeat what the snapshot shows, never go missing).
            watchers.add(w);
            long now = clock.millis();
            for (String area : filter.areas().isEmpty() ? List.of("") : filter.areas()) {
              for (var r :
                  repository.listFleetAgents(
                      new FleetRepository.AgentFilter(
                          filter.nodeId(), "", area, "", "", "", "", ""))) {
                Availability a = Availability.of(r.node(), r.agent(), now);
                if (filter.matches(r.node(), a)) {
                  w.told().add(key(r.node().nodeId(), r.agent().agentId()));
                  w.stream()
                      .preload(
                          event("EXISTING", new FleetQueries.AgentView(r.node(), r.agent(), a)));
                }
              }
            }
            w.stream().preload(AgentEvent.newBuilder().setChange("SYNCED").build());
            if (w.stream().closed()) {
              watchers.remove(w);
            }
          } catch (RuntimeException e) {
            watchers.remove(w);
            LOG.log(Level.WARNING, "could not start an agent watch", e);
            w.stream()
                .close(
                    Status.UNAVAILABLE.withDescription(
                        "could not read the fleet: " + e.getMessage()));
          }
        });
  }

  /** Watchers currently following commits. */
  public int watchers() {
    return watchers.size();
  }

  private void apply(FleetWrite write) {
    switch (write) {
      case FleetWrite.NodeConnected c -> {
        nodes.remove(c.node().nodeId());
        nodeChanged(c.node().nodeId());
      }
      case FleetWrite.NodeOffline off -> {
        nodes.remove(off.nodeId());
        nodeChanged(off.nodeId());
      }
      case FleetWrite.NodesUnconfirmed u ->
          u.nodeIds()
              .forEach(
                  id -> {
                    nodes.remove(id);
                    nodeChanged(id);
                  });
      case FleetWrite.ReplaceAgents r -> {
        Set<String> present = new HashSet<>();
        r.agents().forEach(a -> present.add(key(r.nodeId(), a.agentId())));
        for (Watcher w : watchers) {
          for (String k : Set.copyOf(w.told())) {
            if (k.startsWith(r.nodeId() + "\u0000") && !present.contains(k)) {
              w.told().remove(k);
              w.stream().offer(removed(r.nodeId(), k.substring(r.nodeId().length() + 1)));
            }
          }
        }
        node(r.nodeId()).ifPresent(n -> r.agents().forEach(a -> changed(n, a)));
      }
      case FleetWrite.UpsertAgents u ->
          u.agents().forEach(a -> node(a.nodeId()).ifPresent(n -> changed(n, a)));
      case FleetWrite.RemoveAgents r ->
          r.agentIds()
              .forEach(
                  id -> {
                    for (Watcher w : watchers) {
                      if (w.told().remove(key(r.nodeId(), id))) {
                        w.stream().offer(removed(r.nodeId(), id));
                      }
                    }
                  });
      case FleetWrite.NodeDeleted d -> {
        nodes.remove(d.nodeId());
        String prefix = d.nodeId() + "\u0000";
        for (Watcher w : watchers) {
          for (String k : Set.copyOf(w.told())) {
            if (k.startsWith(prefix) && w.told().remove(k)) {
              w.stream().offer(removed(d.nodeId(), k.substring(prefix.length())));
            }
          }
        }
      }
      case FleetWrite.NodeDisconnected d -> {}
      case FleetWrite.NodeStats s -> {}
    }
  }

  /** The node's connectivity changed: every agent of it may read differently now. */
  private void nodeChanged(String nodeId) {
    node(nodeId).ifPresent(n -> repository.listAgents(nodeId).forEach(a -> changed(n, a)));
  }

  private void changed(NodeRecord node, AgentRecord agent) {
    Availability a = Availability.of(node, agent, clock.millis());
    String key = key(node.nodeId(), agent.agentId());
    AgentEvent updated = null;
    for (Watcher w : watchers) {
      if (w.filter().matches(node, a)) {
        w.told().add(key);
        if (updated == null) {
          updated = event("UPDATED", new FleetQueries.AgentView(node, agent, a));
        }
        w.stream().offer(updated);
      } else if (w.told().remove(key)) {
        w.stream().offer(event("REMOVED", new FleetQueries.AgentView(node, agent, a)));
      }
    }
  }

  private Optional<NodeRecord> node(String nodeId) {
    NodeRecord n = nodes.get(nodeId);
    if (n == null) {
      n = repository.findNode(nodeId).orElse(null);
      if (n != null) {
        nodes.put(nodeId, n);
      }
    }
    return Optional.ofNullable(n);
  }

  private static AgentEvent event(String change, FleetQueries.AgentView view) {
    return AgentEvent.newBuilder().setChange(change).setAgent(FleetProtos.agent(view)).build();
  }

  private static AgentEvent removed(String nodeId, String agentId) {
    return AgentEvent.newBuilder()
        .setChange("REMOVED")
        .setAgent(
            Agent.newBuilder()
                .setNodeId(nodeId)
                .setAgentId(agentId)
                .setAvailability(Availability.NOT_EXIST.code())
                .setAvailabilityName(Availability.NOT_EXIST.name()))
        .build();
  }

  private static String key(String nodeId, String agentId) {
    return nodeId + "\u0000" + agentId;
  }

  @Override
  public void close() {
    thread.shutdownNow();
    watchers.forEach(
        w -> w.stream().close(Status.UNAVAILABLE.withDescription("the manager is shutting down")));
  }
}
