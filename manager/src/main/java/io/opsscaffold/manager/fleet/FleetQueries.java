package io.opsscaffold.manager.fleet;

import io.opsscaffold.errors.OpsException;
import java.time.Clock;
import java.util.List;
import java.util.Locale;

/**
 * Read side of the fleet API: validation of the request fields and the lookups, with the error a
 * person can act on. Thread-safe; blocks on the database.
 */
public final class FleetQueries {
  /** Page size when the request leaves it unset. */
  public static final int DEFAULT_PAGE_SIZE = 50;
  /** Largest page a caller may ask for. */
  public static final int MAX_PAGE_SIZE = 1000;

  private final FleetRepository repository;
  private final Clock clock;

  public FleetQueries(FleetRepository repository, Clock clock) {
    this.repository = repository;
    this.clock = clock;
  }

  /** A page of nodes, with the page number and size actually used. */
  public record NodePage(List<NodeRecord> nodes, long total, int page, int pageSize) {}

  /** An agent with the node it belongs to and its derived availability. */
  public record AgentView(NodeRecord node, AgentRecord agent, Availability availability) {}

  public NodePage listNodes(String area, String status, int page, int pageSize) {
    if (page < 0) {
      throw OpsException.invalidArgument("page must be 1 or more (got " + page + ")");
    }
    if (pageSize < 0 || pageSize > MAX_PAGE_SIZE) {
      throw OpsException.invalidArgument(
          "pageSize must be between 1 and " + MAX_PAGE_SIZE + " (got " + pageSize + ")");
    }
    String connectivity = status.trim().toUpperCase(Locale.ROOT);
    if (!connectivity.isEmpty()
        && !connectivity.equals(NodeRecord.ONLINE)
        && !connectivity.equals(NodeRecord.OFFLINE)) {
      throw OpsException.invalidArgument(
          "status must be ONLINE or OFFLINE (got '" + status + "')");
    }
    int p = page == 0 ? 1 : page;
    int size = pageSize == 0 ? DEFAULT_PAGE_SIZE : pageSize;
    long offset = (long) (p - 1) * size;
    if (offset > Integer.MAX_VALUE) {
      throw OpsException.invalidArgument("page " + p + " is too large for pageSize " + size);
    }
    FleetRepository.Page<NodeRecord> result =
        repository.listNodes(area.trim(), connectivity, (int) offset, size);
    return new NodePage(result.items(), result.total(), p, size);
  }

  public NodeRecord node(String nodeId) {
    requireId("node_id", nodeId);
    return repository
        .findNode(nodeId)
        .orElseThrow(() -> OpsException.notFound("node '" + nodeId + "' is not known to the manager"));
  }

  public int agentCount(String nodeId) {
    return repository.countAgents(nodeId);
  }

  public List<AgentView> agents(String nodeId) {
    NodeRecord node = node(nodeId);
    long now = clock.millis();
    return repository.listAgents(nodeId).stream()
        .map(a -> new AgentView(node, a, Availability.of(node, a, now)))
        .toList();
  }

  public AgentView agent(String nodeId, String agentId) {
    NodeRecord node = node(nodeId);
    requireId("agent_id", agentId);
    AgentRecord agent =
        repository
            .findAgent(nodeId, agentId)
            .orElseThrow(
                () -> OpsException.notFound(
                    "agent '" + agentId + "' does not exist on node '" + nodeId + "'"));
    return new AgentView(node, agent, Availability.of(node, agent, clock.millis()));
  }

  /** Throws INVALID_ARGUMENT naming {@code field} when {@code id} is empty. */
  public static void requireId(String field, String id) {
    if (id == null || id.isBlank()) {
      throw OpsException.invalidArgument(field + " is required");
    }
  }
}
