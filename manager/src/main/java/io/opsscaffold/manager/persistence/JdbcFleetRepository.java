package io.opsscaffold.manager.persistence;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.google.protobuf.util.JsonFormat;
import io.opsscaffold.manager.fleet.AgentHealth;
import io.opsscaffold.manager.fleet.AgentLifecycle;
import io.opsscaffold.manager.fleet.AgentRecord;
import io.opsscaffold.manager.fleet.FleetRepository;
import io.opsscaffold.manager.fleet.FleetWrite;
import io.opsscaffold.manager.fleet.NodeConnectivity;
import io.opsscaffold.manager.fleet.NodeRecord;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeMap;

/**
 * {@link FleetRepository} over JDBC; the same SQL runs on PostgreSQL and on H2 in PostgreSQL mode.
 *
 * <p>Agent changes are written as one standard {@code MERGE ... USING (SELECT ... FROM UNNEST(?,
 * ...))} per batch with one array per column, so a batch of any size is one statement and one round
 * trip. Both databases run it; neither {@code ON CONFLICT} nor {@code ::type[]} casts would run on
 * H2.
 */
public final class JdbcFleetRepository implements FleetRepository {
  private static final String AGENT_COLUMNS =
      "node_id, agent_id, type, lifecycle, health, pid, started_ms, last_heartbeat_ms,"
          + " heartbeat_timeout_ms, last_exit_code, last_exit_ms, restart_count, message, updated_ms,"
          + " last_log_lines, last_restart_reason, stop_requested";

  private static final String MERGE_AGENTS =
      "MERGE INTO agents a USING (SELECT * FROM UNNEST(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
          + " AS t("
          + AGENT_COLUMNS
          + ")) s"
          + " ON a.node_id = s.node_id AND a.agent_id = s.agent_id"
          + " WHEN MATCHED THEN UPDATE SET"
          + " type = CASE WHEN s.type = '' THEN a.type ELSE s.type END,"
          + " lifecycle = s.lifecycle, health = s.health, pid = s.pid, started_ms = s.started_ms,"
          + " last_heartbeat_ms = s.last_heartbeat_ms, heartbeat_timeout_ms = s.heartbeat_timeout_ms,"
          + " last_exit_code = s.last_exit_code, last_exit_ms = s.last_exit_ms,"
          + " restart_count = s.restart_count, message = s.message, updated_ms = s.updated_ms,"
          + " last_log_lines = s.last_log_lines, last_restart_reason = s.last_restart_reason,"
          + " stop_requested = s.stop_requested"
          + " WHEN NOT MATCHED THEN INSERT ("
          + AGENT_COLUMNS
          + ") VALUES (s.node_id, s.agent_id,"
          + " s.type, s.lifecycle, s.health, s.pid, s.started_ms, s.last_heartbeat_ms,"
          + " s.heartbeat_timeout_ms, s.last_exit_code, s.last_exit_ms, s.restart_count, s.message,"
          + " s.updated_ms, s.last_log_lines, s.last_restart_reason, s.stop_requested)";

  private static final String NODE_COLUMNS =
      "node_id, hostname, ip, os, arch, daemon_version, area, zone, cloud_id, business, labels_json,"
          + " connectivity, session_id, connected_since_ms, last_seen_ms, registered_ms";
  private static final String NODE_READ_COLUMNS = NODE_COLUMNS + ", host_stats_json";

  private static final String MERGE_NODE =
      "MERGE INTO nodes n USING (SELECT * FROM UNNEST(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
          + " AS t("
          + NODE_COLUMNS
          + ")) s ON n.node_id = s.node_id"
          + " WHEN MATCHED THEN UPDATE SET hostname = s.hostname, ip = s.ip, os = s.os, arch = s.arch,"
          + " daemon_version = s.daemon_version, area = s.area, zone = s.zone, cloud_id = s.cloud_id,"
          + " business = s.business, labels_json = s.labels_json, connectivity = s.connectivity,"
          + " session_id = s.session_id, connected_since_ms = s.connected_since_ms,"
          + " last_seen_ms = s.last_seen_ms"
          + " WHEN NOT MATCHED THEN INSERT ("
          + NODE_COLUMNS
          + ") VALUES (s.node_id, s.hostname, s.ip,"
          + " s.os, s.arch, s.daemon_version, s.area, s.zone, s.cloud_id, s.business, s.labels_json,"
          + " s.connectivity, s.session_id, s.connected_since_ms, s.last_seen_ms, s.registered_ms)";

  private final Database database;

  /**
   * An agent's key; its hash reuses the two strings' cached hashes instead of building a new
   * string.
   */
  private record AgentKey(String nodeId, String agentId) {}

  public JdbcFleetRepository(Database database) {
    this.database = database;
  }

  private volatile String announcer = "";

  /**
   * From now on every committed batch is announced to the area's other managers, in its own
   * transaction ({@code pg_notify} is delivered on commit only, in commit order): the nodes it
   * changed, for {@link FleetChanges}. PostgreSQL only.
   */
  public void announceAs(String managerId) {
    if (!database.vendor().equals("postgresql")) {
      throw new IllegalStateException("changes are announced on PostgreSQL only");
    }
    announcer = managerId;
  }

  private void announce(Connection c, List<FleetWrite> writes) throws SQLException {
    if (announcer.isEmpty()) {
      return;
    }
    java.util.Set<String> nodes = new java.util.LinkedHashSet<>();
    for (FleetWrite w : writes) {
      switch (w) {
        case FleetWrite.NodeConnected x -> nodes.add(x.node().nodeId());
        case FleetWrite.NodeOffline x -> nodes.add(x.nodeId());
        case FleetWrite.NodesUnconfirmed x -> nodes.addAll(x.nodeIds());
        case FleetWrite.UpsertAgents x -> x.agents().forEach(a -> nodes.add(a.nodeId()));
        case FleetWrite.ReplaceAgents x -> nodes.add(x.nodeId());
        case FleetWrite.RemoveAgents x -> nodes.add(x.nodeId());
        case FleetWrite.NodeDeleted x -> nodes.add(x.nodeId());
        case FleetWrite.NodeDisconnected x -> {} // the node reads the same until it is OFFLINE
        case FleetWrite.NodeStats x -> {}
      }
    }
    if (nodes.isEmpty()) {
      return;
    }
    // PostgreSQL takes payloads under 8000 bytes: one notification per chunk of node ids.
    StringBuilder payload = new StringBuilder(announcer);
    try (PreparedStatement notify = c.prepareStatement("SELECT pg_notify(?, ?)")) {
      for (String node : nodes) {
        if (payload.length() + node.length() + 1 > FleetChanges.MAX_PAYLOAD) {
          notify(notify, payload.toString());
          payload = new StringBuilder(announcer);
        }
        payload.append('\n').append(node);
      }
      notify(notify, payload.toString());
    }
  }

  private static void notify(PreparedStatement notify, String payload) throws SQLException {
    notify.setString(1, FleetChanges.CHANNEL);
    notify.setString(2, payload);
    notify.execute();
  }

  @Override
  public void apply(List<FleetWrite> writes) {
    if (writes.isEmpty()) {
      return;
    }
    try (Connection c = database.connection()) {
      c.setAutoCommit(false);
      try {
        Map<AgentKey, AgentRecord> pending = new LinkedHashMap<>();
        for (FleetWrite write : writes) {
          if (write instanceof FleetWrite.UpsertAgents upsert) {
            for (AgentRecord agent : upsert.agents()) {
              pending.put(new AgentKey(agent.nodeId(), agent.agentId()), agent);
            }
            continue;
          }
          mergeAgents(c, pending);
          switch (write) {
            case FleetWrite.NodeConnected w -> mergeNode(c, w.node());
            case FleetWrite.NodeDisconnected w ->
                update(
                    c,
                    "UPDATE nodes SET last_seen_ms = ?, session_id = NULL WHERE node_id = ? AND session_id = ?",
                    w.atMs(),
                    w.nodeId(),
                    w.sessionId());
            case FleetWrite.NodeStats w ->
                update(
                    c,
                    "UPDATE nodes SET host_stats_json = ?, host_stats_ms = ?, last_seen_ms = ? WHERE node_id = ?",
                    w.statsJson(),
                    w.atMs(),
                    w.atMs(),
                    w.nodeId());
            case FleetWrite.NodesUnconfirmed w -> {
              for (String id : w.nodeIds()) {
                update(
                    c,
                    // Their sessions ended with the run (or the manager) that held them.
                    "UPDATE nodes SET connectivity = 'UNCONFIRMED', session_id = NULL"
                        + " WHERE node_id = ? AND connectivity IN ('ONLINE', 'UNCONFIRMED')",
                    id);
              }
            }
            case FleetWrite.NodeOffline w ->
                update(
                    c,
                    // Not while a session is recorded: the node may hold a newer stream (on
                    // another of the area's managers) than the one whose end started the grace.
                    "UPDATE nodes SET connectivity = 'OFFLINE', connected_since_ms = NULL"
                        + " WHERE node_id = ? AND connectivity <> 'OFFLINE' AND session_id IS NULL",
                    w.nodeId());
            case FleetWrite.ReplaceAgents w -> replaceAgents(c, w, pending);
            case FleetWrite.RemoveAgents w -> removeAgents(c, w.nodeId(), w.agentIds());
            case FleetWrite.NodeDeleted w -> {
              update(c, "DELETE FROM agents WHERE node_id = ?", w.nodeId());
              update(c, "DELETE FROM nodes WHERE node_id = ?", w.nodeId());
            }
            case FleetWrite.UpsertAgents w -> throw new AssertionError("handled above");
          }
        }
        mergeAgents(c, pending);
        announce(c, writes);
        c.commit();
      } catch (SQLException | RuntimeException e) {
        c.rollback();
        throw e;
      }
    } catch (SQLException e) {
      throw DataAccessException.of("applying " + writes.size() + " fleet writes", e);
    }
  }

  private void replaceAgents(
      Connection c, FleetWrite.ReplaceAgents w, Map<AgentKey, AgentRecord> pending)
      throws SQLException {
    Set<String> keep = new HashSet<>();
    for (AgentRecord a : w.agents()) {
      keep.add(a.agentId());
    }
    List<String> stale = new ArrayList<>();
    try (PreparedStatement ps =
        c.prepareStatement("SELECT agent_id FROM agents WHERE node_id = ?")) {
      ps.setString(1, w.nodeId());
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          if (!keep.contains(rs.getString(1))) {
            stale.add(rs.getString(1));
          }
        }
      }
    }
    removeAgents(c, w.nodeId(), stale);
    for (AgentRecord a : w.agents()) {
      pending.put(new AgentKey(a.nodeId(), a.agentId()), a);
    }
    mergeAgents(c, pending);
  }

  private static void removeAgents(Connection c, String nodeId, List<String> agentIds)
      throws SQLException {
    if (agentIds.isEmpty()) {
      return;
    }
    try (PreparedStatement ps =
        c.prepareStatement("DELETE FROM agents WHERE node_id = ? AND agent_id = ?")) {
      for (String id : agentIds) {
        ps.setString(1, nodeId);
        ps.setString(2, id);
        ps.addBatch();
      }
      ps.executeBatch();
    }
  }

  private static void mergeAgents(Connection c, Map<AgentKey, AgentRecord> pending)
      throws SQLException {
    if (pending.isEmpty()) {
      return;
    }
    int n = pending.size();
    String[] nodeIds = new String[n];
    String[] agentIds = new String[n];
    String[] types = new String[n];
    String[] lifecycles = new String[n];
    String[] healths = new String[n];
    Long[] pids = new Long[n];
    Long[] started = new Long[n];
    Long[] heartbeats = new Long[n];
    Long[] timeouts = new Long[n];
    Integer[] exitCodes = new Integer[n];
    Long[] exits = new Long[n];
    Long[] restarts = new Long[n];
    String[] messages = new String[n];
    Long[] updated = new Long[n];
    String[] logLines = new String[n];
    String[] restartReasons = new String[n];
    Boolean[] stopRequested = new Boolean[n];
    int i = 0;
    for (AgentRecord a : pending.values()) {
      nodeIds[i] = a.nodeId();
      agentIds[i] = a.agentId();
      types[i] = a.type();
      lifecycles[i] = a.lifecycle().name();
      healths[i] = a.health().name();
      pids[i] = a.pid();
      started[i] = a.startedMs();
      heartbeats[i] = a.lastHeartbeatMs();
      timeouts[i] = a.heartbeatTimeoutMs();
      exitCodes[i] = a.lastExitCode().isPresent() ? a.lastExitCode().getAsInt() : null;
      exits[i] = a.lastExitMs();
      restarts[i] = a.restartCount();
      messages[i] = a.message();
      updated[i] = a.updatedMs();
      logLines[i] = String.join("\n", a.lastLogLines());
      restartReasons[i] = a.lastRestartReason();
      stopRequested[i] = a.stopRequested();
      i++;
    }
    try (PreparedStatement ps = c.prepareStatement(MERGE_AGENTS)) {
      int p = 1;
      ps.setArray(p++, c.createArrayOf("varchar", nodeIds));
      ps.setArray(p++, c.createArrayOf("varchar", agentIds));
      ps.setArray(p++, c.createArrayOf("varchar", types));
      ps.setArray(p++, c.createArrayOf("varchar", lifecycles));
      ps.setArray(p++, c.createArrayOf("varchar", healths));
      ps.setArray(p++, c.createArrayOf("bigint", pids));
      ps.setArray(p++, c.createArrayOf("bigint", started));
      ps.setArray(p++, c.createArrayOf("bigint", heartbeats));
      ps.setArray(p++, c.createArrayOf("bigint", timeouts));
      ps.setArray(p++, c.createArrayOf("integer", exitCodes));
      ps.setArray(p++, c.createArrayOf("bigint", exits));
      ps.setArray(p++, c.createArrayOf("bigint", restarts));
      ps.setArray(p++, c.createArrayOf("varchar", messages));
      ps.setArray(p++, c.createArrayOf("bigint", updated));
      ps.setArray(p++, c.createArrayOf("varchar", logLines));
      ps.setArray(p++, c.createArrayOf("varchar", restartReasons));
      ps.setArray(p, c.createArrayOf("boolean", stopRequested));
      ps.executeUpdate();
    }
    pending.clear();
  }

  private static void mergeNode(Connection c, NodeRecord n) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(MERGE_NODE)) {
      Object[][] columns = {
        {"varchar", n.nodeId()},
        {"varchar", n.hostname()},
        {"varchar", n.ip()},
        {"varchar", n.os()},
        {"varchar", n.arch()},
        {"varchar", n.daemonVersion()},
        {"varchar", n.area()},
        {"varchar", n.zone()},
        {"bigint", n.cloudId()},
        {"varchar", n.business()},
        {"varchar", labelsToJson(n.labels())},
        {"varchar", n.connectivity().name()},
        {"varchar", n.sessionId()},
        {"bigint", n.connectedSinceMs()},
        {"bigint", n.lastSeenMs()},
        {"bigint", n.registeredMs()},
      };
      for (int i = 0; i < columns.length; i++) {
        String type = (String) columns[i][0];
        Object[] one =
            type.equals("bigint")
                ? new Long[] {(Long) columns[i][1]}
                : new String[] {(String) columns[i][1]};
        ps.setArray(i + 1, c.createArrayOf(type, one));
      }
      ps.executeUpdate();
    }
  }

  private static void update(Connection c, String sql, Object... args) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      for (int i = 0; i < args.length; i++) {
        ps.setObject(i + 1, args[i]);
      }
      ps.executeUpdate();
    }
  }

  @Override
  public Optional<NodeRecord> findNode(String nodeId) {
    List<NodeRecord> found =
        queryNodes("SELECT " + NODE_READ_COLUMNS + " FROM nodes WHERE node_id = ?", nodeId);
    return found.stream().findFirst();
  }

  @Override
  public Page<NodeRecord> listNodes(
      List<String> areas, String connectivity, int offset, int limit) {
    // "= ANY(?)" with an array parameter, as in countAgents: H2 and PostgreSQL both take it.
    String where = " WHERE (? = 0 OR area = ANY(?)) AND (? = '' OR connectivity = ?)";
    Integer any = areas.size();
    String[] area = areas.toArray(String[]::new);
    List<NodeRecord> items =
        queryNodes(
            "SELECT "
                + NODE_READ_COLUMNS
                + " FROM nodes"
                + where
                + " ORDER BY node_id LIMIT ? OFFSET ?",
            any,
            area,
            connectivity,
            connectivity,
            limit,
            offset);
    long total =
        Jdbc.count(
            database, "SELECT COUNT(*) FROM nodes" + where, any, area, connectivity, connectivity);
    return new Page<>(items, total);
  }

  @Override
  public List<String> onlineNodeIds() {
    return Jdbc.query(
        database,
        "SELECT node_id FROM nodes WHERE connectivity IN ('ONLINE', 'UNCONFIRMED')",
        rs -> rs.getString(1));
  }

  @Override
  public List<AgentRecord> listAgents(String nodeId) {
    return queryAgents(
        "SELECT " + AGENT_COLUMNS + " FROM agents WHERE node_id = ? ORDER BY agent_id", nodeId);
  }

  @Override
  public Map<String, List<AgentRecord>> listAgents(Collection<String> nodeIds) {
    Map<String, List<AgentRecord>> out = new HashMap<>();
    nodeIds.forEach(id -> out.put(id, new java.util.ArrayList<>()));
    if (nodeIds.isEmpty()) {
      return out;
    }
    queryAgents(
            "SELECT "
                + AGENT_COLUMNS
                + " FROM agents WHERE node_id = ANY(?) ORDER BY node_id, agent_id",
            (Object) nodeIds.toArray(String[]::new))
        .forEach(a -> out.get(a.nodeId()).add(a));
    return out;
  }

  @Override
  public Optional<AgentRecord> findAgent(String nodeId, String agentId) {
    return queryAgents(
            "SELECT " + AGENT_COLUMNS + " FROM agents WHERE node_id = ? AND agent_id = ?",
            nodeId,
            agentId)
        .stream()
        .findFirst();
  }

  @Override
  public int countAgents(String nodeId) {
    return (int) Jdbc.count(database, "SELECT COUNT(*) FROM agents WHERE node_id = ?", nodeId);
  }

  @Override
  public Map<String, Integer> countAgents(Collection<String> nodeIds) {
    Map<String, Integer> counts = new HashMap<>();
    if (nodeIds.isEmpty()) {
      return counts;
    }
    // "= ANY(?)": H2 finds nothing for "IN (SELECT * FROM UNNEST(?))" with an array parameter.
    Jdbc.query(
        database,
        "SELECT node_id, COUNT(*) FROM agents WHERE node_id = ANY(?) GROUP BY node_id",
        rs -> counts.put(rs.getString(1), rs.getInt(2)),
        (Object) nodeIds.toArray(String[]::new));
    nodeIds.forEach(id -> counts.putIfAbsent(id, 0));
    return counts;
  }

  @Override
  public List<AgentOnNode> listFleetAgents(AgentFilter f) {
    String sql =
        "SELECT "
            + prefixed("a", AGENT_COLUMNS)
            + ", "
            + prefixed("n", NODE_READ_COLUMNS)
            + " FROM agents a JOIN nodes n ON n.node_id = a.node_id"
            + " WHERE (? = '' OR a.node_id = ?) AND (? = '' OR a.agent_id = ?) AND (? = '' OR n.area = ?)"
            + " AND (? = '' OR n.zone = ?) AND (? = '' OR n.hostname = ?) AND (? = '' OR n.ip = ?)"
            + " AND (? = '' OR a.type = ?) AND (? = '' OR n.daemon_version = ?)"
            + " ORDER BY a.node_id, a.agent_id";
    Map<String, NodeRecord> nodes = new java.util.HashMap<>();
    return Jdbc.query(
        database,
        sql,
        rs ->
            new AgentOnNode(
                nodes.computeIfAbsent(rs.getString("n_node_id"), id -> readNodeUnchecked(rs, "n_")),
                readAgent(rs, "a_")),
        f.nodeId(),
        f.nodeId(),
        f.agentId(),
        f.agentId(),
        f.area(),
        f.area(),
        f.zone(),
        f.zone(),
        f.hostname(),
        f.hostname(),
        f.address(),
        f.address(),
        f.type(),
        f.type(),
        f.version(),
        f.version());
  }

  @Override
  public List<NodeRecord> findNodesByAddress(List<String> ips, List<Integer> cloudIds) {
    if (ips.isEmpty()) {
      return List.of();
    }
    String sql =
        "SELECT "
            + prefixed("n", NODE_READ_COLUMNS)
            + " FROM nodes n"
            + " JOIN (SELECT * FROM UNNEST(?, ?) AS t(ip, cloud_id)) h ON n.ip = h.ip AND n.cloud_id = h.cloud_id";
    List<NodeRecord> found = new ArrayList<>();
    try (Connection c = database.connection();
        PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setArray(1, c.createArrayOf("varchar", ips.toArray(String[]::new)));
      ps.setArray(
          2,
          c.createArrayOf(
              "bigint", cloudIds.stream().map(Integer::longValue).toArray(Long[]::new)));
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          found.add(readNode(rs, "n_"));
        }
      }
    } catch (SQLException e) {
      throw DataAccessException.of("looking nodes up by address", e);
    }
    return found;
  }

  private static String prefixed(String alias, String columns) {
    StringBuilder out = new StringBuilder();
    for (String col : columns.split(",")) {
      String c = col.trim();
      if (!out.isEmpty()) {
        out.append(", ");
      }
      out.append(alias).append('.').append(c).append(" AS ").append(alias).append('_').append(c);
    }
    return out.toString();
  }

  private List<NodeRecord> queryNodes(String sql, Object... args) {
    return Jdbc.query(database, sql, rs -> readNode(rs, ""), args);
  }

  private List<AgentRecord> queryAgents(String sql, Object... args) {
    return Jdbc.query(database, sql, rs -> readAgent(rs, ""), args);
  }

  private static NodeRecord readNodeUnchecked(ResultSet rs, String p) {
    try {
      return readNode(rs, p);
    } catch (SQLException e) {
      throw DataAccessException.of("reading a node", e);
    }
  }

  private static NodeRecord readNode(ResultSet rs, String p) throws SQLException {
    return new NodeRecord(
        rs.getString(p + "node_id"),
        rs.getString(p + "hostname"),
        rs.getString(p + "ip"),
        rs.getString(p + "os"),
        rs.getString(p + "arch"),
        rs.getString(p + "daemon_version"),
        rs.getString(p + "area"),
        rs.getString(p + "zone"),
        rs.getLong(p + "cloud_id"),
        rs.getString(p + "business"),
        labelsFromJson(rs.getString(p + "labels_json")),
        NodeConnectivity.valueOf(rs.getString(p + "connectivity")),
        java.util.Objects.requireNonNullElse(rs.getString(p + "session_id"), ""),
        rs.getLong(p + "connected_since_ms"),
        rs.getLong(p + "last_seen_ms"),
        rs.getLong(p + "registered_ms"),
        rs.getString(p + "host_stats_json"));
  }

  private static AgentRecord readAgent(ResultSet rs, String p) throws SQLException {
    int exit = rs.getInt(p + "last_exit_code");
    OptionalInt exitCode = rs.wasNull() ? OptionalInt.empty() : OptionalInt.of(exit);
    String logLines = rs.getString(p + "last_log_lines");
    return new AgentRecord(
        rs.getString(p + "node_id"),
        rs.getString(p + "agent_id"),
        rs.getString(p + "type"),
        AgentLifecycle.parse(rs.getString(p + "lifecycle")),
        AgentHealth.parse(rs.getString(p + "health")),
        rs.getLong(p + "pid"),
        rs.getLong(p + "started_ms"),
        rs.getLong(p + "last_heartbeat_ms"),
        rs.getLong(p + "heartbeat_timeout_ms"),
        exitCode,
        rs.getLong(p + "last_exit_ms"),
        rs.getLong(p + "restart_count"),
        rs.getString(p + "message"),
        rs.getLong(p + "updated_ms"),
        logLines.isEmpty() ? List.of() : List.of(logLines.split("\n", -1)),
        rs.getString(p + "last_restart_reason"),
        rs.getBoolean(p + "stop_requested"));
  }

  static String labelsToJson(Map<String, String> labels) {
    Struct.Builder struct = Struct.newBuilder();
    new TreeMap<>(labels)
        .forEach((k, v) -> struct.putFields(k, Value.newBuilder().setStringValue(v).build()));
    try {
      return JsonFormat.printer().omittingInsignificantWhitespace().print(struct);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException(e);
    }
  }

  static Map<String, String> labelsFromJson(String json) {
    Struct.Builder struct = Struct.newBuilder();
    try {
      JsonFormat.parser().merge(json == null || json.isBlank() ? "{}" : json, struct);
    } catch (InvalidProtocolBufferException e) {
      return Map.of();
    }
    Map<String, String> labels = new TreeMap<>();
    struct.getFieldsMap().forEach((k, v) -> labels.put(k, v.getStringValue()));
    return labels;
  }
}
