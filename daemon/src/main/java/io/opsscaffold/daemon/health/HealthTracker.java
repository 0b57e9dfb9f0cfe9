package io.opsscaffold.daemon.health;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * Judges one running agent's health from what is observed: heartbeats (with their progress
 * counter), resource samples and probe results. Pure given its clock; not thread-safe (owned by the
 * agent's runner). The most serious finding wins: NO_HEARTBEAT, UNHEALTHY_PROBE, OVER_THRESHOLD,
 * NO_DATA, then HEALTHY.
 */
public final class HealthTracker {
  /** A health and why. */
  public record Verdict(Health health, String reason) {
    public boolean healthy() {
      return health == Health.HEALTHY;
    }
  }

  /**
   * Intervals shorter than this are not learned from: heartbeats that queued up while the daemon
   * (or the agent) was paused arrive together, and a burst must not teach a timeout of
   * milliseconds.
   */
  static final Duration MIN_LEARNED_INTERVAL = Duration.ofMillis(100);

  /** A learned timeout is never shorter than this, whatever the agent's interval. */
  static final Duration LEARNED_TIMEOUT_FLOOR = Duration.ofSeconds(3);

  private final HealthPolicy policy;
  private final Clock clock;
  private Instant started;
  private Instant graceFrom;
  private Instant lastHeartbeat;
  private final Deque<Duration> intervals = new ArrayDeque<>();
  private long lastProgress = Long.MIN_VALUE;
  private Instant progressMovedAt;
  private int progressStreak;
  private boolean noData;
  private Instant cpuOverSince;
  private Instant rssOverSince;
  private double lastCpu;
  private long lastRss;
  private int probeFailures;
  private String probeDetail = "";

  public HealthTracker(HealthPolicy policy, Clock clock) {
    this.policy = policy;
    this.clock = clock;
  }

  /**
   * A new process started: everything observed so far is forgotten (learned intervals are kept).
   */
  public void started() {
    started = clock.instant();
    lastHeartbeat = null;
    lastProgress = Long.MIN_VALUE;
    progressMovedAt = started;
    progressStreak = 0;
    noData = false;
    cpuOverSince = null;
    rssOverSince = null;
    probeFailures = 0;
  }

  public void heartbeat(OptionalLong progress) {
    Instant now = clock.instant();
    if (lastHeartbeat != null) {
      Duration interval = Duration.between(lastHeartbeat, now);
      if (interval.compareTo(MIN_LEARNED_INTERVAL) >= 0) {
        intervals.addLast(interval);
        if (intervals.size() > 5) {
          intervals.removeFirst();
        }
      }
    }
    lastHeartbeat = now;
    if (progress.isPresent()) {
      if (progress.getAsLong() != lastProgress) {
        boolean first = lastProgress == Long.MIN_VALUE;
        lastProgress = progress.getAsLong();
        progressMovedAt = now;
        progressStreak = first ? 0 : progressStreak + 1;
        if (noData && progressStreak >= 2) {
          noData = false;
        }
      } else {
        progressStreak = 0;
      }
    }
  }

  public void resources(double cpuPercent, long rssBytes) {
    Instant now = clock.instant();
    lastCpu = cpuPercent;
    lastRss = rssBytes;
    cpuOverSince =
        policy.cpuPercent() > 0 && cpuPercent > policy.cpuPercent()
            ? (cpuOverSince == null ? now : cpuOverSince)
            : null;
    rssOverSince =
        policy.rssBytes() > 0 && rssBytes > policy.rssBytes()
            ? (rssOverSince == null ? now : rssOverSince)
            : null;
  }

  public void probe(boolean ok, String detail) {
    probeFailures = ok ? 0 : probeFailures + 1;
    probeDetail = detail;
  }

  /**
   * The daemon was not running for a while (paused, suspended, a long collection): silence is
   * counted from now, so agents that kept heartbeating into the void get a fresh timeout instead of
   * being judged by the gap.
   */
  public void grace() {
    graceFrom = clock.instant();
  }

  /**
   * The heartbeat timeout in force: configured, or three times the longest of the last intervals
   * seen (bursts ignored), never under {@link #LEARNED_TIMEOUT_FLOOR}.
   */
  public Optional<Duration> heartbeatTimeout() {
    if (policy.heartbeatTimeout().isPresent()) {
      return policy.heartbeatTimeout().filter(d -> !d.isZero());
    }
    if (intervals.size() < 2) {
      return Optional.empty();
    }
    Duration learned = intervals.stream().max(Duration::compareTo).orElseThrow().multipliedBy(3);
    return Optional.of(
        learned.compareTo(LEARNED_TIMEOUT_FLOOR) < 0 ? LEARNED_TIMEOUT_FLOOR : learned);
  }

  public Verdict evaluate() {
    Instant now = clock.instant();
    Optional<Duration> timeout = heartbeatTimeout();
    if (timeout.isPresent() && started != null) {
      Instant reference = lastHeartbeat != null ? lastHeartbeat : started;
      if (graceFrom != null && graceFrom.isAfter(reference)) {
        reference = graceFrom;
      }
      Duration silent = Duration.between(reference, now);
      if (silent.compareTo(timeout.get()) > 0) {
        return new Verdict(
            Health.NO_HEARTBEAT,
            "no heartbeat for "
                + silent.toMillis()
                + " ms (timeout "
                + timeout.get().toMillis()
                + " ms)");
      }
    }
    if (policy.probe().isPresent() && probeFailures >= policy.probe().get().failureThreshold()) {
      return new Verdict(
          Health.UNHEALTHY_PROBE,
          "health probe failed " + probeFailures + " times in a row: " + probeDetail);
    }
    if (cpuOverSince != null
        && Duration.between(cpuOverSince, now).compareTo(policy.sustain()) >= 0) {
      return new Verdict(
          Health.OVER_THRESHOLD,
          "CPU "
              + lastCpu
              + " % above "
              + policy.cpuPercent()
              + " % for "
              + Duration.between(cpuOverSince, now).toSeconds()
              + " s");
    }
    if (rssOverSince != null
        && Duration.between(rssOverSince, now).compareTo(policy.sustain()) >= 0) {
      return new Verdict(
          Health.OVER_THRESHOLD,
          "memory "
              + lastRss
              + " bytes above "
              + policy.rssBytes()
              + " for "
              + Duration.between(rssOverSince, now).toSeconds()
              + " s");
    }
    if (!policy.noDataAfter().isZero()
        && lastProgress != Long.MIN_VALUE
        && progressMovedAt != null
        && Duration.between(progressMovedAt, now).compareTo(policy.noDataAfter()) > 0) {
      noData = true;
    }
    if (noData) {
      return new Verdict(Health.NO_DATA, "heartbeating, but no progress since " + progressMovedAt);
    }
    return new Verdict(Health.HEALTHY, "");
  }
}
