package io.opsscaffold.manager.alerts;

/**
 * An alert as stored. Times are epoch milliseconds; {@code resolvedMs} is 0 while open.
 *
 * @param kind OFF, NOT_EXIST, NO_DATA, UNKNOWN or CRASH_LOOP
 * @param count how many times the agent went (again) into a bad state while the alert was open
 */
public record AlertRecord(
    String alertId,
    String nodeId,
    String agentId,
    String area,
    String kind,
    String reason,
    long openedMs,
    long lastMs,
    int count,
    long resolvedMs) {

  public boolean open() {
    return resolvedMs == 0;
  }
}
