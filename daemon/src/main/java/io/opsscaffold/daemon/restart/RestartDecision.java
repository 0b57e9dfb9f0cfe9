package io.opsscaffold.daemon.restart;

import java.time.Duration;
import java.util.Optional;

/**
 * What {@link RestartTracker} decided after an exit.
 *
 * @param restartAfter the delay before the next start; empty = stay stopped
 * @param failures consecutive failures so far (0 after a clean exit that is not restarted)
 * @param crashLoop whether the agent is in a crash loop (restarted at the capped interval)
 */
public record RestartDecision(Optional<Duration> restartAfter, int failures, boolean crashLoop) {
  public static RestartDecision stay(int failures) {
    return new RestartDecision(Optional.empty(), failures, false);
  }
}
