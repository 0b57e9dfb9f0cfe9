package io.opsscaffold.manager.persistence;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import io.opsscaffold.api.fleet.v1.BatchOperateResponse;
import io.opsscaffold.manager.operations.OperationRecord;
import io.opsscaffold.manager.operations.OperationRepository;
import java.sql.ResultSet;
import java.sql.SQLException;
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
      json =
          JsonFormat.printer()
              .omittingInsignificantWhitespace()
              .print(BatchOperateResponse.newBuilder().addAllResults(r.results()).build());
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException(e);
    }
    Jdbc.replace(
        database,
        "operations",
        "operation_id",
        COLUMNS,
        r.operationId(),
        r.kind(),
        r.requestedBy(),
        r.requestedMs(),
        r.finishedMs(),
        r.result(),
        r.results().size(),
        r.success(),
        r.failed(),
        json,
        r.traceId());
  }

  @Override
  public Optional<OperationRecord> find(String operationId) {
    return Jdbc.query(
            database,
            "SELECT " + COLUMNS + " FROM operations WHERE operation_id = ?",
            JdbcOperationRepository::read,
            operationId)
        .stream()
        .findFirst();
  }

  @Override
  public List<OperationRecord> list(String kind, int offset, int limit) {
    return Jdbc.query(
        database,
        "SELECT "
            + COLUMNS
            + " FROM operations WHERE (? = '' OR kind = ?)"
            + " ORDER BY requested_ms DESC, operation_id LIMIT ? OFFSET ?",
        JdbcOperationRepository::read,
        kind,
        kind,
        limit,
        offset);
  }

  @Override
  public long count(String kind) {
    return Jdbc.count(
        database, "SELECT COUNT(*) FROM operations WHERE (? = '' OR kind = ?)", kind, kind);
  }

  private static OperationRecord read(ResultSet rs) throws SQLException {
    BatchOperateResponse.Builder results = BatchOperateResponse.newBuilder();
    try {
      JsonFormat.parser().ignoringUnknownFields().merge(rs.getString("results_json"), results);
    } catch (InvalidProtocolBufferException e) {
      // an entry written by a newer version: keep the rest
    }
    return new OperationRecord(
        rs.getString("operation_id"),
        rs.getString("kind"),
        rs.getString("requested_by"),
        rs.getLong("requested_ms"),
        rs.getLong("finished_ms"),
        rs.getString("result"),
        List.copyOf(results.getResultsList()),
        rs.getString("trace_id"));
  }
}
