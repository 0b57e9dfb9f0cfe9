package io.opsscaffold.manager.fleet;

import java.util.OptionalInt;

/**
 * An agent as stored: the latest state its daemon reported. Times are epoch milliseconds; 0 means
 * "never".
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
    String lastRestartReason) {}
