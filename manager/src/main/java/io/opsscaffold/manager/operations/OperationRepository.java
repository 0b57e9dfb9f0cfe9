package io.opsscaffold.manager.operations;

import java.util.List;
import java.util.Optional;

/** Where the operations log is kept. Thread-safe. */
public interface OperationRepository {
  /** Records a started operation (result RUNNING) or replaces it with its finished form. */
  void save(OperationRecord record);

  Optional<OperationRecord> find(String operationId);

  /** Newest first; {@code kind} empty for all. */
  List<OperationRecord> list(String kind, int offset, int limit);

  long count(String kind);
}
