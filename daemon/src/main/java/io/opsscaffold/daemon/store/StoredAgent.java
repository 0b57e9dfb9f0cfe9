package io.opsscaffold.daemon.store;

import java.time.Instant;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * What the daemon remembers about an agent across its own restarts.
 *
 * @param pid the agent's process, 0 when none was running
 * @param processStart when that process started, as the OS reports it (guards against pid reuse)
 * @param commandLine that process's command line, as the OS reports it (a second guard)
 */
public record StoredAgent(
    String agentId,
    long pid,
    Optional<Instant> processStart,
    String commandLine,
    String lifecycle,
    int restartCount,
    OptionalInt lastExitCode,
    Optional<Instant> lastExitAt,
    String lastRestartReason) {}
