package io.opsscaffold.manager.fleet;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * {@link FleetRepository} in memory, with the JDBC implementation's semantics (a node's MERGE keeps
 * its registration time and host stats; a disconnect only clears the session it names; offline only
 * from ONLINE; an agent upsert keeps the stored type when the new one is empty). For unit tests of
 * the services that read and write the fleet. {@link #failing} makes every call throw, as a
 * database that went away. Thread-safe (one lock).
 */
public final class InMemoryFleetRepository implements FleetRepository {
  private final Map<String, NodeRecord> nodes = new TreeMap<>();
  private final Map<String, TreeMap<String, AgentRecord>> agents = new HashMap<>();

  /** While set, every call throws, as JDBC does when the database is unreachable. */
  public final AtomicBoolean failing = new AtomicBoolean();

  private void check() {
    if (failing.get()) {
      throw new IllegalStateException("the database is unreachable");
    }
  }

  @Override
  public synchronized void apply(List<FleetWrite> writes) {
    check();
    for (FleetWrite w : writes) {
      switch (w) {
        case FleetWrite.NodeConnected c -> {
          NodeRecord before = nodes.get(c.node().nodeId());
          NodeRecord n = c.node();
          nodes.put(
              n.nodeId(),
              before == null
                  ? n
                  : new NodeRecord(
                      n.nodeId(),
                      n.hostname(),
                      n.ip(),
                      n.os(),
                      n.arch(),
                      n.daemonVersion(),
                      n.area(),
                      n.zone(),
                      n.cloudId(),
                      n.business(),
                      n.labels(),
                      n.connectivity(),
                      n.sessionId(),
                      n.connectedSinceMs(),
                      n.lastSeenMs(),
                      before.registeredMs(),
                      before.hostStatsJson()));
        }
        case FleetWrite.NodeDisconnected d ->
            nodes.computeIfPresent(
                d.nodeId(),
                (id, n) ->
                    d.sessionId().equals(n.sessionId())
                        ? with(
                            n,
                            n.connectivity(),
                            "",
                            n.connectedSinceMs(),
                            d.atMs(),
                            n.hostStatsJson())
                        : n);
        case FleetWrite.NodeStats s ->
            nodes.computeIfPresent(
                s.nodeId(),
                (id, n) ->
                    with(
                        n,
                        n.connectivity(),
                        n.sessionId(),
                        n.connectedSinceMs(),
                        s.atMs(),
                        s.statsJson()));
        case FleetWrite.NodesUnconfirmed u ->
            u.nodeIds()
                .forEach(
                    id ->
                        nodes.computeIfPresent(
                            id,
                            (k, n) ->
                                n.connectivity() != NodeConnectivity.OFFLINE
                                    ? with(
                                        n,
                                        NodeConnectivity.UNCONFIRMED,
                                        "",
                                        n.connectedSinceMs(),
                                        n.lastSeenMs(),
                                        n.hostStatsJson())
                                    : n));
        case FleetWrite.NodeOffline o ->
            nodes.computeIfPresent(
                o.nodeId(),
                (id, n) ->
                    n.connectivity() != NodeConnectivity.OFFLINE && n.sessionId().isEmpty()
                        ? with(
                            n,
                            NodeConnectivity.OFFLINE,
                            n.sessionId(),
                            0,
                            n.lastSeenMs(),
                            n.hostStatsJson())
                        : n);
        case FleetWrite.ReplaceAgents r -> {
          TreeMap<String, AgentRecord> kept = new TreeMap<>();
          r.agents()
              .forEach(
                  a -> kept.put(a.agentId(), merged(agentsOf(r.nodeId()).get(a.agentId()), a)));
          agents.put(r.nodeId(), kept);
        }
        case FleetWrite.UpsertAgents u ->
            u.agents()
                .forEach(
                    a ->
                        agentsOf(a.nodeId())
                            .put(a.agentId(), merged(agentsOf(a.nodeId()).get(a.agentId()), a)));
        case FleetWrite.RemoveAgents r ->
            r.agentIds().forEach(id -> agentsOf(r.nodeId()).remove(id));
        case FleetWrite.NodeDeleted d -> {
          nodes.remove(d.nodeId());
          agents.remove(d.nodeId());
        }
      }
    }
  }

  private TreeMap<String, AgentRecord> agentsOf(String nodeId) {
    return agents.computeIfAbsent(nodeId, n -> new TreeMap<>());
  }

  private static AgentRecord merged(AgentRecord before, AgentRecord a) {
    if (before == null || !a.type().isEmpty()) {
      return a;
    }
    // A delta that did not repeat the type keeps the stored one, as the JDBC repository's merge
    // does.
    return new AgentRecord(
        a.nodeId(),
        a.agentId(),
        before.type(),
        a.lifecycle(),
        a.health(),
        a.pid(),
        a.startedMs(),
        a.lastHeartbeatMs(),
        a.heartbeatTimeoutMs(),
        a.lastExitCode(),
        a.lastExitMs(),
        a.restartCount(),
        a.message(),
        a.updatedMs(),
        a.lastLogLines(),
        a.lastRestartReason(),
        a.stopRequested());
  }

  private static NodeRecord with(
      NodeRecord n,
      NodeConnectivity connectivity,
      String session,
      long since,
      long lastSeen,
      String stats) {
    return new NodeRecord(
        n.nodeId(),
        n.hostname(),
        n.ip(),
        n.os(),
        n.arch(),
        n.daemonVersion(),
        n.area(),
        n.zone(),
        n.cloudId(),
        n.business(),
        n.labels(),
        connectivity,
        session,
        since,
        lastSeen,
        n.registeredMs(),
        stats);
  }

  @Override
  public synchronized Optional<NodeRecord> findNode(String nodeId) {
    check();
    return Optional.ofNullable(nodes.get(nodeId));
  }

  @Override
  public synchronized Page<NodeRecord> listNodes(
      List<String> areas, String connectivity, int offset, int limit) {
    check();
    List<NodeRecord> all =
        nodes.values().stream()
            .filter(n -> areas.isEmpty() || areas.contains(n.area()))
            .filter(n -> connectivity.isEmpty() || n.connectivity().name().equals(connectivity))
            .toList();
    return new Page<>(all.stream().skip(offset).limit(limit).toList(), all.size());
  }

  @Override
  public synchronized List<String> onlineNodeIds() {
    check();
    return nodes.values().stream()
        .filter(n -> n.connectivity() != NodeConnectivity.OFFLINE)
        .map(NodeRecord::nodeId)
        .toList();
  }

  @Override
  public synchronized List<AgentRecord> listAgents(String nodeId) {
    check();
    return List.copyOf(agentsOf(nodeId).values());
  }

  @Override
  public synchronized Optional<AgentRecord> findAgent(String nodeId, String agentId) {
    check();
    return Optional.ofNullable(agentsOf(nodeId).get(agentId));
  }

  @Override
  public synchronized int countAgents(String nodeId) {
    check();
    return agentsOf(nodeId).size();
  }

  @Override
  public synchronized Map<String, Integer> countAgents(Collection<String> nodeIds) {
    check();
    Map<String, Integer> counts = new HashMap<>();
    nodeIds.forEach(id -> counts.put(id, agentsOf(id).size()));
    return counts;
  }

  @Override
  public synchronized List<AgentOnNode> listFleetAgents(AgentFilter f) {
    check();
    List<AgentOnNode> out = new ArrayList<>();
    for (NodeRecord n : nodes.values()) {
      if (!matches(f.nodeId(), n.nodeId())
          || !matches(f.area(), n.area())
          || !matches(f.zone(), n.zone())
          || !matches(f.hostname(), n.hostname())
          || !matches(f.address(), n.ip())
          || !matches(f.version(), n.daemonVersion())) {
        continue;
      }
      for (AgentRecord a : agentsOf(n.nodeId()).values()) {
        if (matches(f.agentId(), a.agentId()) && matches(f.type(), a.type())) {
          out.add(new AgentOnNode(n, a));
        }
      }
    }
    out.sort(
        Comparator.comparing((AgentOnNode x) -> x.node().nodeId())
            .thenComparing(x -> x.agent().agentId()));
    return out;
  }

  private static boolean matches(String wanted, String value) {
    return wanted.isEmpty() || wanted.equals(value);
  }

  @Override
  public synchronized List<NodeRecord> findNodesByAddress(
      List<String> ips, List<Integer> cloudIds) {
    check();
    Set<String> wanted = new HashSet<>();
    for (int i = 0; i < ips.size(); i++) {
      wanted.add(cloudIds.get(i) + ":" + ips.get(i));
    }
    return nodes.values().stream()
        .filter(n -> wanted.contains(n.cloudId() + ":" + n.ip()))
        .toList();
  }
}
