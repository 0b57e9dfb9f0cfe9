package io.opsscaffold.daemon.link;

import java.time.Duration;
import java.util.function.DoubleSupplier;

/**
 * Reconnect delays: exponential from {@code initial}, doubling to {@code max}, with "full jitter"
 * between half and all of the step so that many daemons restarting together spread out. Pure given
 * its random source.
 */
public record Backoff(Duration initial, Duration max, DoubleSupplier random) {

  /** The delay before attempt {@code attempt} (1 = the first retry). */
  public Duration delay(int attempt) {
    double step = initial.toMillis() * Math.pow(2, Math.min(attempt - 1, 30));
    double capped = Math.min(step, max.toMillis());
    double jittered = capped * (0.5 + 0.5 * random.getAsDouble());
    return Duration.ofMillis(Math.max(1, Math.round(jittered)));
  }
}
