package io.opsscaffold.daemon.restart;

import java.time.Duration;
import java.util.List;

/**
 * When an agent that exited on its own is started again, and how fast.
 *
 * @param mode {@code always}, {@code on-failure} (exit code not 0) or {@code never}
 * @param initialDelay the first restart delay
 * @param multiplier growth of the delay per consecutive failure
 * @param maxDelay the largest delay (crash-looping agents are retried at this interval forever)
 * @param resetAfter a run at least this long forgets earlier failures
 * @param crashLoopAfter this many consecutive failures make a crash loop
 */
public record RestartPolicy(
    String mode,
    Duration initialDelay,
    double multiplier,
    Duration maxDelay,
    Duration resetAfter,
    int crashLoopAfter) {

  public static final List<String> MODES = List.of("always", "on-failure", "never");

  /** The defaults: always, 1 s doubling to 5 min, reset after 10 min, crash loop after 5. */
  public static RestartPolicy defaults() {
    return new RestartPolicy("always", Duration.ofSeconds(1), 2.0, Duration.ofMinutes(5),
        Duration.ofMinutes(10), 5);
  }

  /** Whether an exit with {@code exitCode} (that nobody asked for) calls for a restart. */
  public boolean wantsRestart(int exitCode) {
    return switch (mode) {
      case "always" -> true;
      case "on-failure" -> exitCode != 0;
      default -> false;
    };
  }
}
