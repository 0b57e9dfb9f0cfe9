package io.opsscaffold.manager.fleet;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Where nodes and agents are stored. Implementations are thread-safe. */
public interface FleetRepository {

  /** A page of results and the number of matches across all pages. */
  record Page<T>(List<T> items, long total) {}

  /** Applies {@code writes} in order in one transaction; all or nothing. */
  void apply(List<FleetWrite> writes);

  Optional<NodeRecord> findNode(String nodeId);

  /**
   * Nodes matching the filters, ordered by node id.
   *
   * @param area empty for any
   * @param connectivity empty for any, else "ONLINE" or "OFFLINE"
   * @param offset rows to skip
   * @param limit rows to return at most
   */
  default Page<NodeRecord> listNodes(String area, String connectivity, int offset, int limit) {
    return listNodes(area.isEmpty() ? List.of() : List.of(area), connectivity, offset, limit);
  }

  /** Nodes in any of {@code areas} (empty: every area), by node id. */
  Page<NodeRecord> listNodes(List<String> areas, String connectivity, int offset, int limit);

  /**
   * The node ids stored as ONLINE or UNCONFIRMED: those an earlier run of the manager had
   * connected.
   */
  List<String> onlineNodeIds();

  /** The agents of a node, ordered by agent id. */
  List<AgentRecord> listAgents(String nodeId);

  /**
   * The agents of each of {@code nodeIds} (an empty list for a node without agents), each ordered
   * by agent id; in one query where the store allows.
   */
  default Map<String, List<AgentRecord>> listAgents(Collection<String> nodeIds) {
    Map<String, List<AgentRecord>> out = new java.util.HashMap<>();
    nodeIds.forEach(id -> out.put(id, listAgents(id)));
    return out;
  }

  Optional<AgentRecord> findAgent(String nodeId, String agentId);

  /** The number of agents of a node. */
  int countAgents(String nodeId);

  /**
   * The number of agents of each of {@code nodeIds} (0 for a node without agents), in one query.
   */
  Map<String, Integer> countAgents(Collection<String> nodeIds);

  /** An agent with the node it runs on. */
  record AgentOnNode(NodeRecord node, AgentRecord agent) {}

  /**
   * Filters on stored columns for fleet-wide listings; empty strings match everything.
   *
   * @param address the node's IP address
   * @param version the node's daemon version
   */
  record AgentFilter(
      String nodeId,
      String agentId,
      String area,
      String zone,
      String hostname,
      String address,
      String type,
      String version) {}

  /** Agents matching {@code filter} with their nodes, ordered by node id then agent id. */
  List<AgentOnNode> listFleetAgents(AgentFilter filter);

  /** The nodes at these (ip, cloud id) addresses; addresses nobody has are simply absent. */
  List<NodeRecord> findNodesByAddress(List<String> ips, List<Integer> cloudIds);
}
