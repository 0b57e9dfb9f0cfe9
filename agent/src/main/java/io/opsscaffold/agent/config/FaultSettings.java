package io.opsscaffold.agent.config;

import io.opsscaffold.settings.Settings;
import java.time.Duration;

/**
 * Faults the reference agent simulates, so that the daemon's supervision can be shown and tested.
 * All are off by default; all can be changed in a running agent with {@code POST /reload}.
 *
 * @param crashAfter exit abruptly this long after start (or after the reload that set it); zero =
 *     never
 * @param crashExitCode the exit code of that crash
 * @param failAtStart exit with {@code crashExitCode} before serving anything
 * @param ignoreSigterm do not exit on SIGTERM (only SIGKILL ends the agent)
 * @param forkChildren start this many child processes that ignore SIGTERM
 * @param cpuBurnPercent keep one core busy this share of the time, 0 to 100
 * @param memoryGrowthMbPerMinute allocate and hold this much more memory every minute
 * @param stopHeartbeat stop sending heartbeats (the process stays up)
 * @param stopProgress keep heartbeating but stop counting processed events
 * @param rejectReload refuse every reload with 400, keeping the running configuration
 * @param healthDelay answer {@code /health} only after this long
 */
public record FaultSettings(
    Duration crashAfter,
    int crashExitCode,
    boolean failAtStart,
    boolean ignoreSigterm,
    int forkChildren,
    int cpuBurnPercent,
    int memoryGrowthMbPerMinute,
    boolean stopHeartbeat,
    boolean stopProgress,
    boolean rejectReload,
    Duration healthDelay) {

  /** No fault at all. */
  public static final FaultSettings NONE =
      new FaultSettings(
          Duration.ZERO, 1, false, false, 0, 0, 0, false, false, false, Duration.ZERO);

  static FaultSettings read(Settings s) {
    return new FaultSettings(
        s.duration("crash_after", Duration.ZERO, Duration.ZERO, Duration.ofDays(1)),
        s.integer("crash_exit_code", 1, 0, 255),
        s.bool("fail_at_start", false),
        s.bool("ignore_sigterm", false),
        s.integer("fork_children", 0, 0, 64),
        s.integer("cpu_burn_percent", 0, 0, 100),
        s.integer("memory_growth_mb_per_minute", 0, 0, 4096),
        s.bool("stop_heartbeat", false),
        s.bool("stop_progress", false),
        s.bool("reject_reload", false),
        s.duration("health_delay", Duration.ZERO, Duration.ZERO, Duration.ofMinutes(10)));
  }
}
