package io.opsscaffold.manager.persistence;

import io.opsscaffold.manager.alerts.AlertRecord;
import io.opsscaffold.manager.alerts.AlertRepository;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/** {@link AlertRepository} over JDBC. */
public final class JdbcAlertRepository implements AlertRepository {
  private static final String COLUMNS =
      "alert_id, node_id, agent_id, area, kind, reason, opened_ms, last_ms, repeat_count, resolved_ms";
  private static final String WHERE = " WHERE (? = '' OR (? = 'open' AND resolved_ms = 0)"
      + " OR (? = 'resolved' AND resolved_ms > 0)) AND (? = '' OR kind = ?) AND (? = '' OR area = ?)"
      + " AND (? = '' OR node_id = ?)";

  private final Database database;

  public JdbcAlertRepository(Database database) {
    this.database = database;
  }

  @Override
  public void save(AlertRecord a) {
    try (Connection c = database.connection()) {
      c.setAutoCommit(false);
      try (PreparedStatement del = c.prepareStatement("DELETE FROM alerts WHERE alert_id = ?");
          PreparedStatement ins = c.prepareStatement("INSERT INTO alerts (" + COLUMNS + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
        del.setString(1, a.alertId());
        del.executeUpdate();
        ins.setString(1, a.alertId());
        ins.setString(2, a.nodeId());
        ins.setString(3, a.agentId());
        ins.setString(4, a.area());
        ins.setString(5, a.kind());
        ins.setString(6, a.reason());
        ins.setLong(7, a.openedMs());
        ins.setLong(8, a.lastMs());
        ins.setInt(9, a.count());
        ins.setLong(10, a.resolvedMs());
        ins.executeUpdate();
        c.commit();
      } catch (SQLException e) {
        c.rollback();
        throw e;
      }
    } catch (SQLException e) {
      throw new DataAccessException("saving alert " + a.alertId() + " failed", e);
    }
  }

  @Override
  public List<AlertRecord> open() {
    return query("SELECT " + COLUMNS + " FROM alerts WHERE resolved_ms = 0");
  }

  @Override
  public List<AlertRecord> list(String state, String kind, String area, String nodeId, int offset, int limit) {
    return query("SELECT " + COLUMNS + " FROM alerts" + WHERE + " ORDER BY opened_ms DESC, alert_id LIMIT ? OFFSET ?",
        state, state, state, kind, kind, area, area, nodeId, nodeId, limit, offset);
  }

  @Override
  public long count(String state, String kind, String area, String nodeId) {
    try (Connection c = database.connection();
        PreparedStatement ps = c.prepareStatement("SELECT COUNT(*) FROM alerts" + WHERE)) {
      Object[] args = {state, state, state, kind, kind, area, area, nodeId, nodeId};
      for (int i = 0; i < args.length; i++) {
        ps.setObject(i + 1, args[i]);
      }
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    } catch (SQLException e) {
      throw new DataAccessException("counting alerts failed", e);
    }
  }

  private List<AlertRecord> query(String sql, Object... args) {
    List<AlertRecord> out = new ArrayList<>();
    try (Connection c = database.connection();
        PreparedStatement ps = c.prepareStatement(sql)) {
      for (int i = 0; i < args.length; i++) {
        ps.setObject(i + 1, args[i]);
      }
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(new AlertRecord(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4), rs.getString(5),
              rs.getString(6), rs.getLong(7), rs.getLong(8), rs.getInt(9), rs.getLong(10)));
        }
      }
    } catch (SQLException e) {
      throw new DataAccessException("reading alerts failed", e);
    }
    return out;
  }
}
