package io.opsscaffold.manager.fleet;

import io.opsscaffold.errors.OpsException;
import java.time.Clock;
import java.util.List;
import java.util.Locale;
import java.util.Map;

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
  private final java.util.function.Supplier<List<String>> scope;

  /** Queries that see every area. */
  public FleetQueries(FleetRepository repository, Clock clock) {
    this(repository, clock, List::of);
  }

  /**
   * @param scope the areas the current caller may see and act on (empty: every area); read on the
   *     caller's thread, so it can come from the call's credential
   */
  public FleetQueries(
      FleetRepository repository, Clock clock, java.util.function.Supplier<List<String>> scope) {
    this.repository = repository;
    this.clock = clock;
    this.scope = scope;
  }

  /** Whether the current caller may see {@code node}. */
  boolean visible(NodeRecord node) {
    List<String> areas = scope.get();
    return areas.isEmpty() || areas.contains(node.area());
  }

  /**
   * Refuses, with PERMISSION_DENIED naming the area, when the current caller may not act on node
   * {@code nodeId}; a node that does not exist passes (its absence is reported where it matters).
   */
  public void requireVisible(String nodeId) {
    repository.findNode(nodeId).ifPresent(this::requireVisible);
  }

  private NodeRecord requireVisible(NodeRecord node) {
    if (!visible(node)) {
      throw OpsException.permissionDenied(
          "node '"
              + node.nodeId()
              + "' is in area '"
              + node.area()
              + "', outside the areas of this token "
              + scope.get());
    }
    return node;
  }

  /**
   * The areas a request for {@code area} (blank: all) covers for the current caller: that area, or
   * the caller's areas (empty: every area).
   *
   * @throws OpsException PERMISSION_DENIED when {@code area} is outside the caller's areas
   */
  public List<String> areasFor(String area) {
    requireArea(area);
    return area.isBlank() ? scope.get() : List.of(area.trim());
  }

  private void requireArea(String area) {
    List<String> areas = scope.get();
    if (!area.isBlank() && !areas.isEmpty() && !areas.contains(area.trim())) {
      throw OpsException.permissionDenied(
          "area '" + area.trim() + "' is outside the areas of this token " + areas);
    }
  }

  /** A page of nodes, with the page number and size actually used. */
  public record NodePage(List<NodeRecord> nodes, long total, int page, int pageSize) {}

  /** An agent with the node it belongs to and its derived availability. */
  public record AgentView(NodeRecord node, AgentRecord agent, Availability availability) {}

  public NodePage listNodes(String area, String status, int page, int pageSize) {
    int[] paging = paging(page, pageSize);
    String connectivity = status.trim().toUpperCase(Locale.ROOT);
    if (!connectivity.isEmpty()
        && java.util.Arrays.stream(NodeConnectivity.values())
            .noneMatch(c -> c.name().equals(connectivity))) {
      throw OpsException.invalidArgument(
          "status must be ONLINE, OFFLINE or UNCONFIRMED (got '" + status + "')");
    }
    int p = paging[0];
    int size = paging[1];
    long offset = (long) (p - 1) * size;
    if (offset > Integer.MAX_VALUE) {
      throw OpsException.invalidArgument("page " + p + " is too large for pageSize " + size);
    }
    requireArea(area);
    FleetRepository.Page<NodeRecord> result =
        repository.listNodes(
            area.isBlank() ? scope.get() : List.of(area.trim()), connectivity, (int) offset, size);
    return new NodePage(result.items(), result.total(), p, size);
  }

  public NodeRecord node(String nodeId) {
    requireId("node_id", nodeId);
    return requireVisible(
        repository
            .findNode(nodeId)
            .orElseThrow(
                () -> OpsException.notFound("node '" + nodeId + "' is not known to the manager")));
  }

  public int agentCount(String nodeId) {
    return repository.countAgents(nodeId);
  }

  /** The agent count of every node of a page, in one query. */
  public Map<String, Integer> agentCounts(List<NodeRecord> nodes) {
    return repository.countAgents(nodes.stream().map(NodeRecord::nodeId).toList());
  }

  public List<AgentView> agents(String nodeId) {
    return agents(node(nodeId));
  }

  /** The agents of each node of a page already read, in one query. */
  public Map<String, List<AgentView>> agents(List<NodeRecord> nodes) {
    long now = clock.millis();
    Map<String, List<AgentRecord>> read =
        repository.listAgents(nodes.stream().map(NodeRecord::nodeId).toList());
    Map<String, List<AgentView>> out = new java.util.HashMap<>();
    for (NodeRecord n : nodes) {
      out.put(
          n.nodeId(),
          read.getOrDefault(n.nodeId(), List.of()).stream()
              .map(a -> new AgentView(n, a, Availability.of(n, a, now)))
              .toList());
    }
    return out;
  }

  /** The agents of a node already read. */
  public List<AgentView> agents(NodeRecord node) {
    String nodeId = node.nodeId();
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
                () ->
                    OpsException.notFound(
                        "agent '" + agentId + "' does not exist on node '" + nodeId + "'"));
    return new AgentView(node, agent, Availability.of(node, agent, clock.millis()));
  }

  /** Fleet-wide listing: stored filters in SQL, availability and labels here, then one page. */
  public record AgentPage(List<AgentView> agents, long total, int page, int pageSize) {}

  public AgentPage listFleetAgents(
      FleetRepository.AgentFilter filter, String status, String label, int page, int pageSize) {
    int[] paging = paging(page, pageSize);
    List<AgentView> matching = selectAgents(filter, status, label);
    return new AgentPage(page(matching, paging), matching.size(), paging[0], paging[1]);
  }

  /**
   * The page {@code paging} ({page, pageSize} from {@link #paging}) of {@code all}; empty past the
   * end.
   */
  public static <T> List<T> page(List<T> all, int[] paging) {
    int from = (int) Math.min(all.size(), (long) (paging[0] - 1) * paging[1]);
    return all.subList(from, Math.min(all.size(), from + paging[1]));
  }

  /** Every agent matching the filters (no paging), ordered by node id then agent id. */
  public List<AgentView> selectAgents(
      FleetRepository.AgentFilter filter, String status, String label) {
    java.util.Optional<Availability> wanted =
        status.isBlank()
            ? java.util.Optional.empty()
            : java.util.Optional.of(parseAvailability(status));
    java.util.Map.Entry<String, String> labelFilter = label.isBlank() ? null : parseLabel(label);
    requireArea(filter.area());
    long now = clock.millis();
    return repository.listFleetAgents(filter).stream()
        .filter(r -> visible(r.node()))
        .filter(
            r ->
                labelFilter == null
                    || labelFilter.getValue().equals(r.node().labels().get(labelFilter.getKey())))
        .map(r -> new AgentView(r.node(), r.agent(), Availability.of(r.node(), r.agent(), now)))
        .filter(v -> wanted.isEmpty() || v.availability() == wanted.get())
        .toList();
  }

  /** The agent with this id, when exactly one node has it. */
  public AgentView fleetAgent(String agentId) {
    requireId("agent_id", agentId);
    List<FleetRepository.AgentOnNode> rows =
        repository.listFleetAgents(
            new FleetRepository.AgentFilter("", agentId, "", "", "", "", "", ""));
    rows = rows.stream().filter(r -> visible(r.node())).toList();
    if (rows.isEmpty()) {
      throw OpsException.notFound("no node has an agent '" + agentId + "'");
    }
    if (rows.size() > 1) {
      throw OpsException.conflict(
          "agent id '"
              + agentId
              + "' is on several nodes ("
              + String.join(", ", rows.stream().map(r -> r.node().nodeId()).toList())
              + "); ask for it with its node: /api/v1/nodes/{node_id}/agents/"
              + agentId);
    }
    var r = rows.get(0);
    return new AgentView(r.node(), r.agent(), Availability.of(r.node(), r.agent(), clock.millis()));
  }

  /** Availability counts of the whole fleet, or of the hosts at these addresses. */
  public record Summary(
      java.util.Map<String, int[]> byArea,
      java.util.Map<String, int[]> byBusiness,
      int[] overall) {}

  public Summary summary(List<String> ips, List<Integer> cloudIds) {
    List<FleetRepository.AgentOnNode> rows;
    int missingHosts = 0;
    if (ips.isEmpty()) {
      rows =
          repository
              .listFleetAgents(new FleetRepository.AgentFilter("", "", "", "", "", "", "", ""))
              .stream()
              .filter(r -> visible(r.node()))
              .toList();
    } else {
      List<NodeRecord> nodes = repository.findNodesByAddress(ips, cloudIds);
      java.util.Set<String> found = new java.util.HashSet<>();
      nodes.forEach(n -> found.add(n.cloudId() + ":" + n.ip()));
      for (int i = 0; i < ips.size(); i++) {
        if (!found.contains(cloudIds.get(i) + ":" + ips.get(i))) {
          missingHosts++;
        }
      }
      rows = new java.util.ArrayList<>();
      for (NodeRecord n : nodes) {
        if (!visible(n)) {
          continue; // counted as found: its existence is not a secret, its agents are
        }
        for (AgentRecord a : repository.listAgents(n.nodeId())) {
          rows.add(new FleetRepository.AgentOnNode(n, a));
        }
      }
    }
    long now = clock.millis();
    java.util.Map<String, int[]> byArea = new java.util.TreeMap<>();
    java.util.Map<String, int[]> byBusiness = new java.util.TreeMap<>();
    int[] overall = new int[5];
    for (var r : rows) {
      int slot = Availability.of(r.node(), r.agent(), now).code() + 1;
      byArea.computeIfAbsent(r.node().area(), k -> new int[5])[slot]++;
      byBusiness.computeIfAbsent(r.node().business(), k -> new int[5])[slot]++;
      overall[slot]++;
    }
    overall[Availability.NOT_EXIST.code() + 1] += missingHosts;
    return new Summary(byArea, byBusiness, overall);
  }

  static Availability parseAvailability(String status) {
    String s = status.trim().toUpperCase(Locale.ROOT);
    for (Availability a : Availability.values()) {
      if (a.name().equals(s) || Integer.toString(a.code()).equals(s)) {
        return a;
      }
    }
    throw OpsException.invalidArgument(
        "status must be one of ON, OFF, NOT_EXIST, NO_DATA, UNKNOWN or their codes"
            + " 0, 1, 2, 3, -1 (got '"
            + status
            + "')");
  }

  private static java.util.Map.Entry<String, String> parseLabel(String label) {
    int eq = label.indexOf('=');
    if (eq <= 0) {
      throw OpsException.invalidArgument("label must be written key=value (got '" + label + "')");
    }
    return java.util.Map.entry(label.substring(0, eq), label.substring(eq + 1));
  }

  /** {page, pageSize} with their defaults, or INVALID_ARGUMENT naming the field. */
  public static int[] paging(int page, int pageSize) {
    if (page < 0) {
      throw OpsException.invalidArgument("page must be 1 or more (got " + page + ")");
    }
    if (pageSize < 0 || pageSize > MAX_PAGE_SIZE) {
      throw OpsException.invalidArgument(
          "pageSize must be between 1 and " + MAX_PAGE_SIZE + " (got " + pageSize + ")");
    }
    return new int[] {page == 0 ? 1 : page, pageSize == 0 ? DEFAULT_PAGE_SIZE : pageSize};
  }

  /** Throws INVALID_ARGUMENT naming {@code field} when {@code id} is empty. */
  public static void requireId(String field, String id) {
    if (id == null || id.isBlank()) {
      throw OpsException.invalidArgument(field + " is required");
    }
  }
}
