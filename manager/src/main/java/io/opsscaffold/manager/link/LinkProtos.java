package io.opsscaffold.manager.link;

import com.google.protobuf.util.Durations;
import com.google.protobuf.util.Timestamps;
import io.opsscaffold.api.link.v1.AgentState;
import io.opsscaffold.api.link.v1.Hello;
import io.opsscaffold.manager.fleet.AgentRecord;
import io.opsscaffold.manager.fleet.NodeRecord;
import java.util.OptionalInt;

/** Link messages to stored records. Stateless. */
public final class LinkProtos {
  private LinkProtos() {}

  /** The stored form of an agent state; {@code nowMs} becomes its update time. */
  public static AgentRecord agent(String nodeId, AgentState s, long nowMs) {
    return new AgentRecord(
        nodeId,
        s.getAgentId(),
        s.getType(),
        LIFECYCLES[s.getLifecycle().ordinal()],
        HEALTHS[s.getHealth().ordinal()],
        s.getPid(),
        s.hasStartedAt() ? Timestamps.toMillis(s.getStartedAt()) : 0,
        s.hasLastHeartbeat() ? Timestamps.toMillis(s.getLastHeartbeat()) : 0,
        s.hasHeartbeatTimeout() ? Durations.toMillis(s.getHeartbeatTimeout()) : 0,
        s.hasLastExitCode() ? OptionalInt.of(s.getLastExitCode()) : OptionalInt.empty(),
        s.hasLastExitAt() ? Timestamps.toMillis(s.getLastExitAt()) : 0,
        s.getRestartCount(),
        truncate(s.getMessage(), 1024),
        nowMs,
        logLines(s.getLastLogLinesList()),
        truncate(s.getLastRestartReason(), 1024),
        s.getStopRequested());
  }

  /** The stored form of a node that just said Hello on session {@code sessionId}. */
  public static NodeRecord node(Hello h, String sessionId, long nowMs) {
    return new NodeRecord(
        h.getNodeId(),
        truncate(h.getHostname(), 255),
        truncate(h.getIp(), 64),
        truncate(h.getOs(), 128),
        truncate(h.getArch(), 64),
        truncate(h.getDaemonVersion(), 64),
        truncate(h.getLabels().getArea(), 128),
        truncate(h.getLabels().getZone(), 128),
        h.getLabels().getCloudId(),
        truncate(h.getLabels().getBusiness(), 128),
        h.getLabels().getExtraMap(),
        io.opsscaffold.manager.fleet.NodeConnectivity.ONLINE,
        sessionId,
        nowMs,
        nowMs,
        nowMs,
        "");
  }

  /**
   * Whether {@code id} is a valid node or agent id: 1 to 128 characters of {@code [A-Za-z0-9._-]}.
   * Checked for every agent of every message, so by hand rather than with a regular expression.
   */
  public static boolean validId(String id) {
    int n = id.length();
    if (n == 0 || n > 128) {
      return false;
    }
    for (int i = 0; i < n; i++) {
      char c = id.charAt(i);
      boolean ok =
          (c >= 'a' && c <= 'z')
              || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9')
              || c == '.'
              || c == '_'
              || c == '-';
      if (!ok) {
        return false;
      }
    }
    return true;
  }

  // Enum names without their prefix, by ordinal: computed once, not per agent state.
  // By the wire enum's ordinal: the lookup is on every delta's path.
  private static final io.opsscaffold.manager.fleet.AgentLifecycle[] LIFECYCLES =
      java.util.Arrays.stream(
              stripped(io.opsscaffold.api.status.v1.Lifecycle.values(), "LIFECYCLE_"))
          .map(io.opsscaffold.manager.fleet.AgentLifecycle::parse)
          .toArray(io.opsscaffold.manager.fleet.AgentLifecycle[]::new);
  private static final io.opsscaffold.manager.fleet.AgentHealth[] HEALTHS =
      java.util.Arrays.stream(stripped(io.opsscaffold.api.status.v1.Health.values(), "HEALTH_"))
          .map(io.opsscaffold.manager.fleet.AgentHealth::parse)
          .toArray(io.opsscaffold.manager.fleet.AgentHealth[]::new);

  private static String[] stripped(Enum<?>[] values, String prefix) {
    String[] names = new String[values.length];
    for (Enum<?> v : values) {
      names[v.ordinal()] = stripPrefix(v.name(), prefix);
    }
    return names;
  }

  private static String stripPrefix(String name, String prefix) {
    return name.startsWith(prefix) ? name.substring(prefix.length()) : name;
  }

  private static java.util.List<String> logLines(java.util.List<String> lines) {
    if (lines.isEmpty()) {
      return java.util.List.of();
    }
    return lines.stream().limit(10).map(l -> truncate(l, 1024)).toList();
  }

  private static String truncate(String s, int max) {
    return s.length() <= max ? s : s.substring(0, max);
  }
}
