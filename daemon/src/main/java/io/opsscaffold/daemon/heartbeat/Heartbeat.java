package io.opsscaffold.daemon.heartbeat;

import java.time.Instant;

/**
 * A heartbeat as an agent sent it.
 *
 * @param cpu percent of one core, 0 to 100
 * @param memory resident bytes
 * @param timestamp the agent's clock when it sent the heartbeat
 * @param progress the agent's progress counter ({@code events_processed}), when it sends one
 */
public record Heartbeat(
    String agentId,
    long pid,
    String status,
    double cpu,
    long memory,
    Instant timestamp,
    java.util.OptionalLong progress) {}
