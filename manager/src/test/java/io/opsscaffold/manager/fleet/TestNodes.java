package io.opsscaffold.manager.fleet;

import java.util.Map;

/** Node records for tests: only what a test varies is a parameter. */
public final class TestNodes {
  private TestNodes() {}

  /** A node of {@code area} connected on session "s" since 1 and last seen at 1. */
  public static NodeRecord online(String id, String area) {
    return node(id, area, NodeConnectivity.ONLINE, "s", 1, 1);
  }

  /** An online node of area "east". */
  public static NodeRecord online(String id) {
    return online(id, "east");
  }

  /** A node of area "east" whose stream ended, last seen at {@code lastSeenMs}. */
  public static NodeRecord offline(String id, long lastSeenMs) {
    return node(id, "east", NodeConnectivity.OFFLINE, "", 0, lastSeenMs);
  }

  /** The write that stores an online node of area "east", as a daemon's Hello does. */
  public static FleetWrite connected(String id) {
    return new FleetWrite.NodeConnected(online(id));
  }

  private static NodeRecord node(
      String id,
      String area,
      NodeConnectivity connectivity,
      String session,
      long connectedSinceMs,
      long lastSeenMs) {
    return new NodeRecord(
        id,
        "h-" + id,
        "10.0.0.1",
        "Linux",
        "amd64",
        "0.1.0",
        area,
        "z",
        0,
        "b",
        Map.of(),
        connectivity,
        session,
        connectedSinceMs,
        lastSeenMs,
        1,
        "");
  }
}
