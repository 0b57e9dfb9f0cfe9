package io.opsscaffold.manager.fleet;

import java.util.OptionalInt;

/**
 * An agent as stored: the latest state its daemon reported. Times are epoch milliseconds; 0 means
 * "never". {@code stopRequested}: the agent is meant to be stopped (an operator stopped it, or it
 * does not autostart), so its being OFF is not a failure.
 */
public record AgentRecord(
    String nodeId,
    String agentId,
    String type,
    AgentLifecycle lifecycle,
    AgentHealth health,
    long pid,
    long startedMs,
    long lastHeartbeatMs,
    long heartbeatTimeoutMs,
    OptionalInt lastExitCode,
    long lastExitMs,
    long restartCount,
    String message,
    long updatedMs,
    java.util.List<String> lastLogLines,
    String lastRestartReason,
    boolean stopRequested) {

  /** A state of an agent that is not meant to be stopped. */
  public AgentRecord(
      String nodeId,
      String agentId,
      String type,
      AgentLifecycle lifecycle,
      AgentHealth health,
      long pid,
      long startedMs,
      long lastHeartbeatMs,
      long heartbeatTimeoutMs,
      OptionalInt lastExitCode,
      long lastExitMs,
      long restartCount,
      String message,
      long updatedMs,
      java.util.List<String> lastLogLines,
      String lastRestartReason) {
    this(
        nodeId,
        agentId,
        type,
        lifecycle,
        health,
        pid,
        startedMs,
        lastHeartbeatMs,
        heartbeatTimeoutMs,
        lastExitCode,
        lastExitMs,
        restartCount,
        message,
        updatedMs,
        lastLogLines,
        lastRestartReason,
        false);
  }

  /** This state with {@code stopRequested} set as given. */
  public AgentRecord withStopRequested(boolean requested) {
    return new AgentRecord(
        nodeId,
        agentId,
        type,
        lifecycle,
        health,
        pid,
        startedMs,
        lastHeartbeatMs,
        heartbeatTimeoutMs,
        lastExitCode,
        lastExitMs,
        restartCount,
        message,
        updatedMs,
        lastLogLines,
        lastRestartReason,
        requested);
  }
}
