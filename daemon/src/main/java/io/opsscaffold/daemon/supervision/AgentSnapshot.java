package io.opsscaffold.daemon.supervision;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * An agent's state at one moment, as its runner published it. Immutable.
 *
 * @param lifecycle a DESIGN.md lifecycle name: STOPPED, STARTING, RUNNING, STOPPING, RESTARTING, FAILED
 * @param health HEALTHY, DEAD or UNKNOWN (more checks come with the health issue)
 * @param pid 0 when not running
 * @param lastLogLines the last lines of output before the latest unexpected exit (empty otherwise)
 * @param lastRestartReason why the daemon last restarted it on its own; empty when it never did
 */
public record AgentSnapshot(
    String agentId,
    String type,
    String lifecycle,
    String health,
    long pid,
    Optional<Instant> startedAt,
    Optional<Instant> lastHeartbeat,
    Duration heartbeatTimeout,
    OptionalInt lastExitCode,
    Optional<Instant> lastExitAt,
    int restartCount,
    String message,
    java.util.List<String> lastLogLines,
    String lastRestartReason) {}
