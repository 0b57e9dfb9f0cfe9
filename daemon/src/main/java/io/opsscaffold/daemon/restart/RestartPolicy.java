package io.opsscaffold.daemon.restart;

import java.time.Duration;
import java.util.List;

/**
 * When an agent that exited on its own is started again, and after how long.
 *
 * @param mode {@code always}, {@code on-failure} (exit code not 0) or {@code never}
 * @param delay wait between the exit and the new start
 */
public record RestartPolicy(String mode, Duration delay) {
  public static final List<String> MODES = List.of("always", "on-failure", "never");

  /** Restart after {@code delay}, or not at all. Pure. */
  public RestartDecision decide(int exitCode) {
    boolean restart =
        switch (mode) {
          case "always" -> true;
          case "on-failure" -> exitCode != 0;
          default -> false;
        };
    return restart ? RestartDecision.after(delay) : RestartDecision.stay();
  }
}
