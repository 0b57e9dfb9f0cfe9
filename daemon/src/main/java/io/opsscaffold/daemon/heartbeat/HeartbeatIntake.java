package io.opsscaffold.daemon.heartbeat;

import io.opentelemetry.context.Context;
import io.opsscaffold.daemon.supervision.AgentRunner;
import io.opsscaffold.daemon.supervision.Supervisor;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.Semaphore;
import java.util.logging.Logger;

/**
 * Where heartbeats from every transport end up. It checks what a parser cannot: that the agent is
 * supervised here, that the sender belongs to the agent's process group as the kernel tells it (a
 * heartbeat from another process is answered but flagged, and does not count as the agent being
 * alive; the pid in the body is only a hint), and that the timestamp is sane. Admission is bounded:
 * at most {@code capacity} heartbeats are handled at once, the rest are told to retry ({@link
 * Outcome#busy}). Thread-safe; never blocks.
 */
public final class HeartbeatIntake {
  private static final Logger LOG = Logger.getLogger(HeartbeatIntake.class.getName());

  /** Timestamps further in the future than this are refused. */
  static final Duration MAX_FUTURE = Duration.ofMinutes(10);

  /** Timestamps older than this are refused. */
  static final Duration MAX_AGE = Duration.ofDays(1);

  /** What became of a heartbeat. */
  public record Outcome(
      boolean accepted,
      boolean busy,
      boolean verified,
      Optional<String> problem,
      Optional<String> warning) {
    static Outcome ok() {
      return new Outcome(true, false, true, Optional.empty(), Optional.empty());
    }

    static Outcome unverified(String warning) {
      return new Outcome(true, false, false, Optional.empty(), Optional.of(warning));
    }

    static Outcome refused(String problem) {
      return new Outcome(false, false, false, Optional.of(problem), Optional.empty());
    }

    static Outcome tooBusy() {
      return new Outcome(
          false,
          true,
          false,
          Optional.of("the daemon is busy; retry in a second"),
          Optional.empty());
    }

    /** The result label of the heartbeats metric: "accepted" or "unverified". */
    public String result() {
      return verified ? "accepted" : "unverified";
    }
  }

  private final Supervisor supervisor;
  private final Clock clock;
  private final Semaphore admission;
  private final java.util.Map<String, Instant> lastWarned =
      new java.util.concurrent.ConcurrentHashMap<>();

  private final java.util.Map<java.util.List<String>, java.util.concurrent.atomic.LongAdder>
      counts = new java.util.concurrent.ConcurrentHashMap<>();

  /**
   * Counts one heartbeat by how it came ("http" or "socket") and what became of it ("accepted",
   * "unverified", "invalid", "too_large", "busy", "refused").
   */
  public void count(String transport, String result) {
    counts
        .computeIfAbsent(
            java.util.List.of(transport, result), k -> new java.util.concurrent.atomic.LongAdder())
        .increment();
  }

  /** Heartbeats counted so far, by (transport, result). */
  public java.util.Map<java.util.List<String>, Long> counts() {
    java.util.Map<java.util.List<String>, Long> out = new java.util.HashMap<>();
    counts.forEach((k, v) -> out.put(k, v.sum()));
    return out;
  }

  public HeartbeatIntake(Supervisor supervisor, Clock clock) {
    this(supervisor, clock, 256);
  }

  public HeartbeatIntake(Supervisor supervisor, Clock clock, int capacity) {
    this.supervisor = supervisor;
    this.clock = clock;
    this.admission = new Semaphore(capacity);
  }

  /**
   * Records {@code hb} unless something is wrong with it; see {@link Outcome}. It counts as a sign
   * of life only when {@code sender} (what the kernel says about who sent it) is a member of the
   * agent's process group; otherwise it is answered with a warning, counted as "unverified", and
   * changes nothing.
   */
  public Outcome accept(Heartbeat hb, Sender sender, Context cause) {
    if (!admission.tryAcquire()) {
      return Outcome.tooBusy();
    }
    try {
      Optional<AgentRunner> runner = supervisor.runner(hb.agentId());
      if (runner.isEmpty()) {
        return Outcome.refused(
            "unknown agent '"
                + hb.agentId()
                + "': this daemon supervises "
                + (supervisor.agentIds().isEmpty()
                    ? "no agents"
                    : String.join(", ", supervisor.agentIds())));
      }
      Instant now = clock.instant();
      if (hb.timestamp().isAfter(now.plus(MAX_FUTURE))) {
        return Outcome.refused(
            "timestamp "
                + hb.timestamp()
                + " is more than "
                + MAX_FUTURE.toMinutes()
                + " minutes ahead of the daemon's clock ("
                + now
                + ")");
      }
      if (hb.timestamp().isBefore(now.minus(MAX_AGE))) {
        return Outcome.refused("timestamp " + hb.timestamp() + " is more than a day old");
      }
      long leader = runner.get().runningPid();
      if (leader > 0 && sender.memberOf(leader, hb.pid()).isEmpty()) {
        String who = sender.describe();
        noteUnverified(hb.agentId(), who, leader);
        return Outcome.unverified(
            ("this heartbeat was not sent by agent '"
                + hb.agentId()
                + "' (process group "
                + leader
                + ") but by "
                + who
                + "; it was recorded as unverified and does not count as a sign of life"));
      }
      supervisor.heartbeat(hb.agentId(), now, hb.progress(), cause);
      return Outcome.ok();
    } finally {
      admission.release();
    }
  }

  /**
   * At most one warning a minute per agent: a flood of foreign heartbeats must not flood the log.
   */
  private void noteUnverified(String agent, String who, long leader) {
    Instant now = clock.instant();
    Instant last = lastWarned.get(agent);
    if (last == null || !now.isBefore(last.plus(Duration.ofMinutes(1)))) {
      lastWarned.put(agent, now);
      LOG.warning(
          () ->
              "heartbeat for agent "
                  + agent
                  + " from "
                  + who
                  + ", outside its process group "
                  + leader
                  + ": recorded as unverified, not counted (further ones for a minute are counted"
                  + " only in the heartbeats metric)");
    }
  }
}
