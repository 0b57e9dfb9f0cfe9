package io.opsscaffold.manager.persistence;

import io.opsscaffold.manager.alerts.AlertRecord;
import io.opsscaffold.manager.alerts.AlertRepository;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;

/** {@link AlertRepository} over JDBC. */
public final class JdbcAlertRepository implements AlertRepository {
  private static final String COLUMNS =
      "alert_id, node_id, agent_id, area, kind, reason, opened_ms, last_ms, repeat_count, resolved_ms";
  private static final String WHERE =
      " WHERE (? = '' OR (? = 'open' AND resolved_ms = 0)"
          + " OR (? = 'resolved' AND resolved_ms > 0)) AND (? = '' OR kind = ?) AND (? = 0 OR area = ANY(?))"
          + " AND (? = '' OR node_id = ?)";

  private final Database database;

  public JdbcAlertRepository(Database database) {
    this.database = database;
  }

  @Override
  public void save(AlertRecord a) {
    Jdbc.replace(
        database,
        "alerts",
        "alert_id",
        COLUMNS,
        a.alertId(),
        a.nodeId(),
        a.agentId(),
        a.area(),
        a.kind(),
        a.reason(),
        a.openedMs(),
        a.lastMs(),
        a.count(),
        a.resolvedMs());
  }

  @Override
  public List<AlertRecord> open() {
    return Jdbc.query(
        database,
        "SELECT " + COLUMNS + " FROM alerts WHERE resolved_ms = 0",
        JdbcAlertRepository::read);
  }

  @Override
  public List<AlertRecord> list(
      String state, String kind, List<String> areas, String nodeId, int offset, int limit) {
    return Jdbc.query(
        database,
        "SELECT "
            + COLUMNS
            + " FROM alerts"
            + WHERE
            + " ORDER BY opened_ms DESC, alert_id LIMIT ? OFFSET ?",
        JdbcAlertRepository::read,
        state,
        state,
        state,
        kind,
        kind,
        areas.size(),
        areas.toArray(String[]::new),
        nodeId,
        nodeId,
        limit,
        offset);
  }

  @Override
  public long count(String state, String kind, List<String> areas, String nodeId) {
    return Jdbc.count(
        database,
        "SELECT COUNT(*) FROM alerts" + WHERE,
        state,
        state,
        state,
        kind,
        kind,
        areas.size(),
        areas.toArray(String[]::new),
        nodeId,
        nodeId);
  }

  private static AlertRecord read(ResultSet rs) throws SQLException {
    return new AlertRecord(
        rs.getString(1),
        rs.getString(2),
        rs.getString(3),
        rs.getString(4),
        rs.getString(5),
        rs.getString(6),
        rs.getLong(7),
        rs.getLong(8),
        rs.getInt(9),
        rs.getLong(10));
  }
}
