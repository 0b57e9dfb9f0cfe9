package io.opsscaffold.daemon.supervision;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * An agent's state at one moment, as its runner published it. Immutable.
 *
 * @param lifecycle where the process is in its life
 * @param health what the checks say of it
 * @param pid 0 when not running
 * @param lastLogLines the last lines of output before the latest unexpected exit (empty otherwise)
 * @param lastRestartReason why the daemon last restarted it on its own; empty when it never did
 * @param stopRequested the agent is meant to be stopped (an operator, a reload or the daemon's exit
 *     stopped it, or it does not autostart and was never started)
 */
public record AgentSnapshot(
    String agentId,
    String type,
    Lifecycle lifecycle,
    io.opsscaffold.daemon.health.Health health,
    long pid,
    Optional<Instant> startedAt,
    Optional<Instant> lastHeartbeat,
    Duration heartbeatTimeout,
    OptionalInt lastExitCode,
    Optional<Instant> lastExitAt,
    int restartCount,
    String message,
    java.util.List<String> lastLogLines,
    String lastRestartReason,
    boolean stopRequested) {

  /** A state of an agent that is not meant to be stopped. */
  public AgentSnapshot(
      String agentId,
      String type,
      Lifecycle lifecycle,
      io.opsscaffold.daemon.health.Health health,
      long pid,
      Optional<Instant> startedAt,
      Optional<Instant> lastHeartbeat,
      Duration heartbeatTimeout,
      OptionalInt lastExitCode,
      Optional<Instant> lastExitAt,
      int restartCount,
      String message,
      java.util.List<String> lastLogLines,
      String lastRestartReason) {
    this(
        agentId,
        type,
        lifecycle,
        health,
        pid,
        startedAt,
        lastHeartbeat,
        heartbeatTimeout,
        lastExitCode,
        lastExitAt,
        restartCount,
        message,
        lastLogLines,
        lastRestartReason,
        false);
  }
}
