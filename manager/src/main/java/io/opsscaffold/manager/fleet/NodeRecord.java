package io.opsscaffold.manager.fleet;

import java.util.Map;

/**
 * A node as stored. Times are epoch milliseconds; 0 means "never".
 *
 * @param connectivity "ONLINE" or "OFFLINE"
 */
public record NodeRecord(
    String nodeId,
    String hostname,
    String ip,
    String os,
    String arch,
    String daemonVersion,
    String area,
    String zone,
    long cloudId,
    String business,
    Map<String, String> labels,
    String connectivity,
    String sessionId,
    long connectedSinceMs,
    long lastSeenMs,
    long registeredMs,
    String hostStatsJson) {

  public static final String ONLINE = "ONLINE";
  public static final String OFFLINE = "OFFLINE";

  public boolean online() {
    return ONLINE.equals(connectivity);
  }
}
