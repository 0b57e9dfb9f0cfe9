package io.opsscaffold.manager.alerts;

import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/** {@link AlertRepository} in memory, newest first. Thread-safe. */
public final class InMemoryAlertRepository implements AlertRepository {
  private final Map<String, AlertRecord> alerts = new LinkedHashMap<>();

  @Override
  public synchronized void save(AlertRecord alert) {
    alerts.put(alert.alertId(), alert);
  }

  @Override
  public synchronized List<AlertRecord> open() {
    return alerts.values().stream().filter(AlertRecord::open).toList();
  }

  private Stream<AlertRecord> matching(
      String state, String kind, List<String> areas, String nodeId) {
    return alerts.values().stream()
        .filter(a -> state.isEmpty() || (state.equals("open") == a.open()))
        .filter(a -> kind.isEmpty() || a.kind().equals(kind))
        .filter(a -> areas.isEmpty() || areas.contains(a.area()))
        .filter(a -> nodeId.isEmpty() || a.nodeId().equals(nodeId));
  }

  @Override
  public synchronized List<AlertRecord> list(
      String state, String kind, List<String> areas, String nodeId, int offset, int limit) {
    return matching(state, kind, areas, nodeId)
        .sorted(Comparator.comparingLong(AlertRecord::openedMs).reversed())
        .skip(offset)
        .limit(limit)
        .toList();
  }

  @Override
  public synchronized long count(String state, String kind, List<String> areas, String nodeId) {
    return matching(state, kind, areas, nodeId).count();
  }
}
