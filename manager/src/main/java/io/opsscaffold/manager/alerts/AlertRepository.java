package io.opsscaffold.manager.alerts;

import java.util.List;

/** Where alerts are kept. Thread-safe. */
public interface AlertRepository {
  /** Inserts or replaces the alert. */
  void save(AlertRecord alert);

  /** Every open alert. */
  List<AlertRecord> open();

  /**
   * Alerts, newest first.
   *
   * @param state "open", "resolved" or "" for both
   */
  List<AlertRecord> list(
      String state, String kind, List<String> areas, String nodeId, int offset, int limit);

  long count(String state, String kind, List<String> areas, String nodeId);
}
