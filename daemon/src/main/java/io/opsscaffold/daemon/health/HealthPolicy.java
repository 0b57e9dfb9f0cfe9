package io.opsscaffold.daemon.health;

import java.time.Duration;
import java.util.Optional;

/**
 * The health checks of one agent. Zero durations and limits switch a check off.
 *
 * @param heartbeatTimeout NO_HEARTBEAT when the last heartbeat (or the start) is older; empty means
 *     "three times the interval the agent is seen to heartbeat at", zero means no check
 * @param probe an HTTP health probe, like a kubelet liveness probe
 * @param cpuPercent OVER_THRESHOLD when CPU (percent of one core) stays above this for {@code
 *     sustain}
 * @param rssBytes OVER_THRESHOLD when resident memory stays above this for {@code sustain}
 * @param sustain how long a resource must stay over its limit
 * @param noDataAfter NO_DATA when the agent heartbeats but its progress counter has not moved for
 *     this long (and only back to healthy after it moved on two heartbeats in a row)
 * @param restart whether the daemon restarts an unhealthy agent (through the restart backoff)
 */
public record HealthPolicy(
    Optional<Duration> heartbeatTimeout,
    Optional<Probe> probe,
    double cpuPercent,
    long rssBytes,
    Duration sustain,
    Duration noDataAfter,
    boolean restart) {

  /**
   * An HTTP GET that must answer 2xx or 3xx within {@code timeout}; {@code failureThreshold}
   * failures in a row make the agent UNHEALTHY_PROBE, one success makes it healthy again.
   */
  public record Probe(
      String url, Duration period, Duration timeout, int failureThreshold, Duration initialDelay) {}

  /** Heartbeat timeout learned from the agent, no other check, restart when unhealthy. */
  public static HealthPolicy defaults() {
    return new HealthPolicy(
        Optional.empty(), Optional.empty(), 0, 0, Duration.ofSeconds(60), Duration.ZERO, true);
  }
}
