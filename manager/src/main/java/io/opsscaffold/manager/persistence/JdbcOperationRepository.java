package io.opsscaffold.manager.persistence;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import io.opsscaffold.api.fleet.v1.BatchOperateResponse;
import io.opsscaffold.manager.operations.OperationRecord;
import io.opsscaffold.manager.operations.OperationRepository;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** {@link OperationRepository} over JDBC; per-target results are kept as protobuf JSON. */
public final class JdbcOperationRepository implements OperationRepository {
  private static final String COLUMNS =
      "operation_id, kind, requested_by, requested_ms, finished_ms, result, total, success, failed, results_json, trace_id";

  private final Database database;

  public JdbcOperationRepository(Database database) {
    this.database = database;
  }

  @Override
  public void save(OperationRecord r) {
    String json;
    try {
      json = JsonFormat.printer().omittingInsignificantWhitespace()
          .print(BatchOperateResponse.newBuilder().addAllResults(r.results()).build());
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException(e);
    }
    try (Connection c = database.connection()) {
      c.setAutoCommit(false);
      try (PreparedStatement del = c.prepareStatement("DELETE FROM operations WHERE operation_id = ?");
          PreparedStatement ins = c.prepareStatement("INSERT INTO operations (" + COLUMNS
              + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
        del.setString(1, r.operationId());
        del.executeUpdate();
        ins.setString(1, r.operationId());
        ins.setString(2, r.kind());
        ins.setString(3, r.requestedBy());
        ins.setLong(4, r.requestedMs());
        ins.setLong(5, r.finishedMs());
        ins.setString(6, r.result());
        ins.setInt(7, r.results().size());
        ins.setInt(8, r.success());
        ins.setInt(9, r.failed());
        ins.setString(10, json);
        ins.setString(11, r.traceId());
        ins.executeUpdate();
        c.commit();
      } catch (SQLException e) {
        c.rollback();
        throw e;
      }
    } catch (SQLException e) {
      throw new DataAccessException("saving operation " + r.operationId() + " failed", e);
    }
  }

  @Override
  public Optional<OperationRecord> find(String operationId) {
    return query("SELECT " + COLUMNS + " FROM operations WHERE operation_id = ?", operationId).stream().findFirst();
  }

  @Override
  public List<OperationRecord> list(String kind, int offset, int limit) {
    return query("SELECT " + COLUMNS + " FROM operations WHERE (? = '' OR kind = ?)"
        + " ORDER BY requested_ms DESC, operation_id LIMIT ? OFFSET ?", kind, kind, limit, offset);
  }

  @Override
  public long count(String kind) {
    try (Connection c = database.connection();
        PreparedStatement ps = c.prepareStatement("SELECT COUNT(*) FROM operations WHERE (? = '' OR kind = ?)")) {
      ps.setString(1, kind);
      ps.setString(2, kind);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    } catch (SQLException e) {
      throw new DataAccessException("counting operations failed", e);
    }
  }

  private List<OperationRecord> query(String sql, Object... args) {
    List<OperationRecord> out = new ArrayList<>();
    try (Connection c = database.connection();
        PreparedStatement ps = c.prepareStatement(sql)) {
      for (int i = 0; i < args.length; i++) {
        ps.setObject(i + 1, args[i]);
      }
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          BatchOperateResponse.Builder results = BatchOperateResponse.newBuilder();
          try {
            JsonFormat.parser().ignoringUnknownFields().merge(rs.getString("results_json"), results);
          } catch (InvalidProtocolBufferException e) {
            // an entry written by a newer version: keep the rest
          }
          out.add(new OperationRecord(rs.getString("operation_id"), rs.getString("kind"), rs.getString("requested_by"),
              rs.getLong("requested_ms"), rs.getLong("finished_ms"), rs.getString("result"),
              List.copyOf(results.getResultsList()), rs.getString("trace_id")));
        }
      }
    } catch (SQLException e) {
      throw new DataAccessException("reading operations failed", e);
    }
    return out;
  }
}
