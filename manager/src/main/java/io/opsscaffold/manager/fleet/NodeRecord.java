package io.opsscaffold.manager.fleet;

import java.util.Map;

/**
 * A node as stored. Times are epoch milliseconds; 0 means "never".
 *
 * @param connectivity whether its daemon counts as connected
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
    NodeConnectivity connectivity,
    String sessionId,
    long connectedSinceMs,
    long lastSeenMs,
    long registeredMs,
    String hostStatsJson) {

  public boolean online() {
    return connectivity == NodeConnectivity.ONLINE;
  }
}
