package io.opsscaffold.manager.operations;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * {@link OperationRepository} in memory, newest first; {@link #failing} makes saves throw.
 * Thread-safe.
 */
public final class InMemoryOperationRepository implements OperationRepository {
  private final Map<String, OperationRecord> records = new LinkedHashMap<>();

  /** While set, saves throw, as JDBC does when the database is unreachable. */
  public final AtomicBoolean failing = new AtomicBoolean();

  @Override
  public synchronized void save(OperationRecord record) {
    if (failing.get()) {
      throw new IllegalStateException("the database is unreachable");
    }
    records.put(record.operationId(), record);
  }

  @Override
  public synchronized Optional<OperationRecord> find(String operationId) {
    return Optional.ofNullable(records.get(operationId));
  }

  @Override
  public synchronized List<OperationRecord> list(String kind, int offset, int limit) {
    List<OperationRecord> all =
        new ArrayList<>(
            records.values().stream()
                .filter(r -> kind.isEmpty() || r.kind().equals(kind))
                .toList());
    all.sort(Comparator.comparingLong(OperationRecord::requestedMs).reversed());
    return all.stream().skip(offset).limit(limit).toList();
  }

  @Override
  public synchronized long count(String kind) {
    return records.values().stream().filter(r -> kind.isEmpty() || r.kind().equals(kind)).count();
  }
}
