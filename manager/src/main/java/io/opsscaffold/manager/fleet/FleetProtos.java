package io.opsscaffold.manager.fleet;

import com.google.protobuf.Duration;
import com.google.protobuf.Timestamp;
import com.google.protobuf.util.Timestamps;
import io.opsscaffold.api.fleet.v1.Agent;
import io.opsscaffold.api.fleet.v1.Connectivity;
import io.opsscaffold.api.fleet.v1.Node;
import io.opsscaffold.api.status.v1.Health;
import io.opsscaffold.api.status.v1.Lifecycle;

/** Stored records to fleet API messages. Stateless. */
public final class FleetProtos {
  private FleetProtos() {}

  public static Node node(NodeRecord n, int agentCount) {
    Node.Builder b =
        Node.newBuilder()
            .setNodeId(n.nodeId())
            .setHostname(n.hostname())
            .setIp(n.ip())
            .setOs(n.os())
            .setArch(n.arch())
            .setDaemonVersion(n.daemonVersion())
            .setArea(n.area())
            .setZone(n.zone())
            .setCloudId((int) n.cloudId())
            .setBusiness(n.business())
            .putAllLabels(n.labels())
            .setConnectivity(Connectivity.valueOf("CONNECTIVITY_" + n.connectivity().name()))
            .setAgentCount(agentCount);
    if (!n.hostStatsJson().isEmpty()) {
      io.opsscaffold.api.status.v1.HostStats.Builder stats =
          io.opsscaffold.api.status.v1.HostStats.newBuilder();
      try {
        com.google.protobuf.util.JsonFormat.parser()
            .ignoringUnknownFields()
            .merge(n.hostStatsJson(), stats);
        b.setHostStats(stats);
      } catch (com.google.protobuf.InvalidProtocolBufferException e) {
        // stored by an older version: leave it out
      }
    }
    if (n.connectedSinceMs() > 0 && n.online()) {
      b.setConnectedSince(timestamp(n.connectedSinceMs()));
    }
    if (n.lastSeenMs() > 0) {
      b.setLastSeen(timestamp(n.lastSeenMs()));
    }
    return b.build();
  }

  public static Agent agent(FleetQueries.AgentView view) {
    AgentRecord a = view.agent();
    Agent.Builder b =
        Agent.newBuilder()
            .setNodeId(a.nodeId())
            .setAgentId(a.agentId())
            .setType(a.type())
            .setLifecycle(lifecycle(a.lifecycle().name()))
            .setHealth(health(a.health().name()))
            .setPid((int) a.pid())
            .setAvailability(view.availability().code())
            .setAvailabilityName(view.availability().name())
            .setHeartbeatTimeout(duration(a.heartbeatTimeoutMs()))
            .setRestartCount((int) a.restartCount())
            .setMessage(a.message())
            .addAllLastLogLines(a.lastLogLines())
            .setLastRestartReason(a.lastRestartReason())
            .setStopRequested(a.stopRequested());
    if (a.startedMs() > 0) {
      b.setStartedAt(timestamp(a.startedMs()));
    }
    if (a.lastHeartbeatMs() > 0) {
      b.setLastHeartbeat(timestamp(a.lastHeartbeatMs()));
    }
    a.lastExitCode().ifPresent(b::setLastExitCode);
    if (a.lastExitMs() > 0) {
      b.setLastExitAt(timestamp(a.lastExitMs()));
    }
    if (a.updatedMs() > 0) {
      b.setUpdatedAt(timestamp(a.updatedMs()));
    }
    return b.build();
  }

  /** Counts indexed by availability code + 1 (UNKNOWN, ON, OFF, NOT_EXIST, NO_DATA). */
  public static io.opsscaffold.api.fleet.v1.AvailabilityCounts counts(String key, int[] c) {
    return io.opsscaffold.api.fleet.v1.AvailabilityCounts.newBuilder()
        .setKey(key)
        .setUnknown(c[0])
        .setOn(c[1])
        .setOff(c[2])
        .setNotExist(c[3])
        .setNoData(c[4])
        .setTotal(c[0] + c[1] + c[2] + c[3] + c[4])
        .build();
  }

  static Lifecycle lifecycle(String name) {
    try {
      return Lifecycle.valueOf("LIFECYCLE_" + name);
    } catch (IllegalArgumentException e) {
      return Lifecycle.LIFECYCLE_UNSPECIFIED;
    }
  }

  static Health health(String name) {
    try {
      return Health.valueOf("HEALTH_" + name);
    } catch (IllegalArgumentException e) {
      return Health.HEALTH_UNKNOWN;
    }
  }

  public static Timestamp timestamp(long epochMs) {
    return Timestamps.fromMillis(epochMs);
  }

  public static Duration duration(long ms) {
    return com.google.protobuf.util.Durations.fromMillis(ms);
  }
}
