package io.opsscaffold.daemon.restart;

import java.time.Duration;
import java.util.Optional;

/** The outcome of {@link RestartPolicy#decide}: restart after a delay, or stay stopped. */
public record RestartDecision(Optional<Duration> restartAfter) {
  public static RestartDecision after(Duration delay) {
    return new RestartDecision(Optional.of(delay));
  }

  public static RestartDecision stay() {
    return new RestartDecision(Optional.empty());
  }
}
