package io.opsscaffold.daemon.heartbeat;

import io.opentelemetry.context.Context;
import io.opsscaffold.daemon.supervision.AgentRunner;
import io.opsscaffold.daemon.supervision.Supervisor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.Semaphore;

/**
 * Where heartbeats from every transport end up. It checks what a parser cannot: that the agent is
 * supervised here, that the sender belongs to the agent's process group (a heartbeat from another
 * process is accepted but flagged, and does not count as the agent being alive), and that the
 * timestamp is sane. Admission is bounded: at most {@code capacity} heartbeats are handled at once,
 * the rest are told to retry ({@link Outcome#busy}). Thread-safe; never blocks.
 */
public final class HeartbeatIntake {
  /** Timestamps further in the future than this are refused. */
  static final Duration MAX_FUTURE = Duration.ofMinutes(10);

  /** Timestamps older than this are refused. */
  static final Duration MAX_AGE = Duration.ofDays(1);

  /** What became of a heartbeat. */
  public record Outcome(
      boolean accepted, boolean busy, Optional<String> problem, Optional<String> warning) {
    static Outcome ok(Optional<String> warning) {
      return new Outcome(true, false, Optional.empty(), warning);
    }

    static Outcome refused(String problem) {
      return new Outcome(false, false, Optional.of(problem), Optional.empty());
    }

    static Outcome tooBusy() {
      return new Outcome(
          false, true, Optional.of("the daemon is busy; retry in a second"), Optional.empty());
    }
  }

  private final Supervisor supervisor;
  private final Clock clock;
  private final Semaphore admission;

  private final java.util.Map<java.util.List<String>, java.util.concurrent.atomic.LongAdder>
      counts = new java.util.concurrent.ConcurrentHashMap<>();

  /**
   * Counts one heartbeat by how it came ("http" or "socket") and what became of it ("accepted",
   * "invalid", "too_large", "busy", "refused").
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

  /** Records {@code hb} unless something is wrong with it; see {@link Outcome}. */
  public Outcome accept(Heartbeat hb, Context cause) {
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
      if (leader > 0 && hb.pid() != leader && processGroup(hb.pid()) != leader) {
        return Outcome.ok(
            Optional.of(
                "pid "
                    + hb.pid()
                    + " is not part of the supervised process (pid "
                    + leader
                    + "); the heartbeat was recorded as foreign and does not count as a sign of life"));
      }
      supervisor.heartbeat(hb.agentId(), now, hb.progress(), cause);
      return Outcome.ok(Optional.empty());
    } finally {
      admission.release();
    }
  }

  /** The process group of {@code pid}, or -1 when it cannot be read (no such process). */
  static long processGroup(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
      String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      return Long.parseLong(fields[2]);
    } catch (Exception e) {
      return -1;
    }
  }
}
