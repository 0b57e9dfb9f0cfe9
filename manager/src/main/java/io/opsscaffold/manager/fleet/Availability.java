package io.opsscaffold.manager.fleet;

/**
 * The GSE availability code of an agent, derived in this one place from what is stored: the node's
 * connectivity, the agent's lifecycle and health, and its heartbeat age. Pure and thread-safe.
 */
public enum Availability {
  UNKNOWN(-1),
  ON(0),
  OFF(1),
  NOT_EXIST(2),
  NO_DATA(3);

  private final int code;

  Availability(int code) {
    this.code = code;
  }

  /** The GSE code: -1, 0, 1, 2 or 3. */
  public int code() {
    return code;
  }

  /**
   * Derives the availability of {@code agent} on {@code node} at {@code nowMs}.
   *
   * <ul>
   *   <li>UNKNOWN: the node is offline, or the lifecycle was never reported;
   *   <li>OFF: stopped, stopping, starting, restarting, failed, or the process is dead;
   *   <li>NO_DATA: running, but the heartbeat is older than its timeout (counted from the start
   *       when none arrived yet), or the daemon reports NO_HEARTBEAT, NO_DATA (no progress) or a
   *       failing probe;
   *   <li>ON: running and the heartbeat is fresh (or the agent does not heartbeat).
   * </ul>
   */
  public static Availability of(NodeRecord node, AgentRecord agent, long nowMs) {
    if (!node.online()) {
      return UNKNOWN;
    }
    return switch (agent.lifecycle()) {
      case RUNNING -> running(agent, nowMs);
      case STOPPED, STOPPING, STARTING, RESTARTING, FAILED, CRASH_LOOP -> OFF;
      case UNSPECIFIED -> UNKNOWN;
    };
  }

  private static Availability running(AgentRecord agent, long nowMs) {
    switch (agent.health()) {
      case DEAD:
        return OFF;
      case NO_HEARTBEAT, UNHEALTHY_PROBE, NO_DATA:
        return NO_DATA;
      default:
        break;
    }
    long staleAt = staleAtMs(agent);
    return staleAt > 0 && nowMs > staleAt ? NO_DATA : ON;
  }

  /**
   * When a running agent's heartbeat goes stale if nothing new arrives: its latest heartbeat (or
   * its start, when none arrived yet) plus its timeout; 0 when time alone cannot change it.
   */
  public static long staleAtMs(AgentRecord agent) {
    long reference = Math.max(agent.lastHeartbeatMs(), agent.startedMs());
    return agent.heartbeatTimeoutMs() > 0 && reference > 0
        ? reference + agent.heartbeatTimeoutMs()
        : 0;
  }
}
