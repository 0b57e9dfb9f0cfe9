package io.opsscaffold.daemon.link;

import java.time.Duration;
import java.util.function.DoubleSupplier;

/**
 * Reconnect delays: exponential from {@code initial}, doubling to {@code max}, with full jitter
 * (anywhere between 0 and the step) so that a fleet whose manager comes back spreads its reconnects
 * over the step instead of arriving in waves. With the default 5 s cap every daemon is back within
 * 5 s of its manager being ready. Pure given its random source.
 */
public record Backoff(Duration initial, Duration max, DoubleSupplier random) {

  /** The delay before attempt {@code attempt} (1 = the first retry). */
  public Duration delay(int attempt) {
    double step = initial.toMillis() * Math.pow(2, Math.min(attempt - 1, 30));
    double capped = Math.min(step, max.toMillis());
    double jittered = capped * random.getAsDouble();
    return Duration.ofMillis(Math.max(1, Math.round(jittered)));
  }
}
